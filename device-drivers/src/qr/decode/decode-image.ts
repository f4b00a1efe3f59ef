import { decodeImage } from '../../image/decode.js';
import { toGray } from './gray-image.js';
import { ZxingWasmDecoder } from './zxing-wasm.js';

/** Reads the QR code in an encoded image (PNG, JPEG): the text, or undefined when none is found. */
export async function decodeQrInImage(bytes: Uint8Array, label = 'image'): Promise<string | undefined> {
  const found = await new ZxingWasmDecoder().decode(toGray(await decodeImage(bytes, label, 'QR_IMAGE_UNREADABLE')));
  return found?.text;
}
