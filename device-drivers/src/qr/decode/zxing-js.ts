import zxing from '@zxing/library';
import { KioskError } from '@kiosk/common';
import type { GrayImage } from './gray-image.js';
import type { DecodedQr, QrDecodeOptions, QrDecoder } from './decoder.js';

// CommonJS without named exports Node can detect: take them from module.exports.
const { BinaryBitmap, ChecksumException, DecodeHintType, FormatException, HybridBinarizer, NotFoundException, QRCodeReader, RGBLuminanceSource } = zxing;

/** Not found, Reed-Solomon failed, or not a valid symbol: all mean no complete code in this image. */
function isNoCode(err: unknown): boolean {
  return err instanceof NotFoundException || err instanceof ChecksumException || err instanceof FormatException;
}

// Without an ECI, byte segments are read as UTF-8 (what the CCCD QR holds); an ECI in the symbol still wins.
const FAST = new Map<zxing.DecodeHintType, unknown>([[DecodeHintType.CHARACTER_SET, 'UTF-8']]);
const HARD = new Map<zxing.DecodeHintType, unknown>([...FAST, [DecodeHintType.TRY_HARDER, true]]);

/** @zxing/library 0.23 (the TypeScript port of ZXing Java): a peer and fallback, weaker than zxing-wasm on camera frames. */
export class ZxingJsDecoder implements QrDecoder {
  readonly name = 'zxing-js' as const;
  private readonly reader = new QRCodeReader();

  async decode(image: GrayImage, options: QrDecodeOptions = {}): Promise<DecodedQr | undefined> {
    const luminance = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.width * image.height);
    const bitmap = new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(luminance, image.width, image.height)));
    try {
      const result = this.reader.decode(bitmap, options.tryHarder ? HARD : FAST);
      // Empty symbols are refused as by the other decoders: in camera frames they are noise taken for a code.
      if (result.getText() === '') return undefined;
      const points = result.getResultPoints().map((p) => ({ x: p.getX(), y: p.getY() }));
      // The port reports neither the ECI nor the content bytes (only byte-mode segments, which miss digits).
      return { text: result.getText(), bytes: undefined, eci: undefined, points, decoder: this.name };
    } catch (err) {
      if (isNoCode(err)) return undefined;
      throw new KioskError('QR_DECODE_FAILED', `@zxing/library failed: ${(err as Error).message}`, { cause: err, details: { decoder: this.name } });
    } finally {
      this.reader.reset();
    }
  }
}
