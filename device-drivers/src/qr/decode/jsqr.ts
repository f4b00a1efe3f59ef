import jsqr from 'jsqr';

// A CommonJS module typed with `export default`: Node hands ESM its module.exports, whose .default is jsQR.
const jsQR = jsqr.default;
import { grayToRgba, type GrayImage } from './gray-image.js';
import { symbolText, type DecodedQr, type QrDecodeOptions, type QrDecoder } from './decoder.js';

/** UTF-8's ECI assignment number. */
const ECI_UTF8 = 26;

/** jsQR 1.4 (pure JavaScript): a peer and last-resort fallback; slow on full frames, so best given a small region. */
export class JsqrDecoder implements QrDecoder {
  readonly name = 'jsqr' as const;

  async decode(image: GrayImage, options: QrDecodeOptions = {}): Promise<DecodedQr | undefined> {
    const code = jsQR(grayToRgba(image), image.width, image.height, { inversionAttempts: options.tryHarder ? 'attemptBoth' : 'dontInvert' });
    // jsQR can "find" an empty version-1 symbol in noise (seen on a hard frame): no data is never a code.
    if (!code || code.binaryData.length === 0) return undefined;
    const ecis = code.chunks.flatMap((c) => ('assignmentNumber' in c ? [c.assignmentNumber] : []));
    const bytes = Uint8Array.from(code.binaryData);
    // Bytes under no ECI or the UTF-8 ECI follow the UTF-8 rule; under another ECI, jsQR's own reading stands.
    const otherCharset = ecis.some((n) => n !== ECI_UTF8);
    const text = symbolText(bytes, otherCharset, code.data);
    const eci = ecis.length > 0;
    const { topLeftCorner, topRightCorner, bottomRightCorner, bottomLeftCorner } = code.location;
    return { text, bytes, eci, points: [topLeftCorner, topRightCorner, bottomRightCorner, bottomLeftCorner], decoder: this.name };
  }
}
