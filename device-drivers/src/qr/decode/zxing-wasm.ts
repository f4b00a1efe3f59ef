import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { KioskError } from '@kiosk/common';
import { prepareZXingModule, readBarcodes, type ReaderOptions } from 'zxing-wasm/reader';
import { grayToRgba, type GrayImage } from './gray-image.js';
import { symbolText, type DecodedQr, type QrDecodeOptions, type QrDecoder } from './decoder.js';

const require = createRequire(import.meta.url);

let ready: Promise<void> | undefined;

/**
 * Instantiates zxing-cpp's reader from the .wasm inside node_modules. zxing-wasm's default fetches the binary from
 * a CDN; handing Emscripten the bytes (wasmBinary) means no network is ever touched, and a kiosk works offline.
 */
export function loadZxingWasm(): Promise<void> {
  ready ??= (async () => {
    const path = require.resolve('zxing-wasm/reader/zxing_reader.wasm');
    const bytes = await readFile(path);
    await prepareZXingModule({
      overrides: { wasmBinary: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), locateFile: () => path },
      fireImmediately: true,
    });
  })().catch((cause: unknown) => {
    ready = undefined;
    throw new KioskError('QR_DECODE_FAILED', `zxing-wasm could not be loaded: ${(cause as Error).message}`, { cause, details: { decoder: 'zxing-wasm' } });
  });
  return ready;
}

const FAST: ReaderOptions = { formats: ['QRCode'], tryHarder: false, tryRotate: false, tryInvert: false, tryDownscale: true, maxNumberOfSymbols: 1 };
const HARD: ReaderOptions = { ...FAST, tryHarder: true, tryRotate: true, tryInvert: true, tryDenoise: true };

/** zxing-cpp compiled to WebAssembly: the fastest and most robust decoder measured here, and our default. */
export class ZxingWasmDecoder implements QrDecoder {
  readonly name = 'zxing-wasm' as const;

  async decode(image: GrayImage, options: QrDecodeOptions = {}): Promise<DecodedQr | undefined> {
    await loadZxingWasm();
    // An ImageData-shaped object (Node has no ImageData): zxing-wasm only reads data, width and height.
    const pixels = { data: grayToRgba(image), width: image.width, height: image.height };
    const results = await readBarcodes(pixels, options.tryHarder ? HARD : FAST);
    // returnErrors is off, so only checked symbols come back; a Structured Append part is a piece of a longer text.
    // Empty symbols are refused as by the other decoders: in camera frames they are noise taken for a code.
    const found = results.find((r) => r.isValid && r.format === 'QRCode' && r.sequenceSize === -1 && r.bytes.length > 0);
    if (!found) return undefined;
    const { topLeft, topRight, bottomRight, bottomLeft } = found.position;
    return { text: symbolText(found.bytes, found.hasECI, found.text), bytes: found.bytes, eci: found.hasECI, points: [topLeft, topRight, bottomRight, bottomLeft], decoder: this.name };
  }
}
