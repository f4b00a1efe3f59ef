import { KioskError } from '@kiosk/common';
import { DECODER_NAMES, type DecoderName, type QrDecoder } from './decoder.js';
import { JsqrDecoder } from './jsqr.js';
import { ZxingJsDecoder } from './zxing-js.js';
import { ZxingWasmDecoder } from './zxing-wasm.js';

/** A decoder by its name (configuration, CLI); CONFIG_INVALID for an unknown name. */
export function createDecoder(name: string): QrDecoder {
  switch (name as DecoderName) {
    case 'zxing-wasm':
      return new ZxingWasmDecoder();
    case 'zxing-js':
      return new ZxingJsDecoder();
    case 'jsqr':
      return new JsqrDecoder();
    default:
      throw new KioskError('CONFIG_INVALID', `unknown QR decoder "${name}" (one of ${DECODER_NAMES.join(', ')})`);
  }
}
