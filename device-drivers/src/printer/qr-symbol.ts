/**
 * The simulated printer's QR engine: what a printer does on GS ( k function 181 with the data stored by function
 * 180 — encode the bytes as a model 2 QR symbol at the selected error-correction level — done with `qrcode`.
 */
import QRCode, { type BitMatrix } from 'qrcode';
import { rasterRowBytes, type QrErrorLevel, type RasterImage } from './escpos-encoder.js';

/** Quiet zone left around the symbol, in modules (ISO/IEC 18004 asks for 4). */
export const QR_QUIET_MODULES = 4;

/**
 * The symbol with its quiet zone as a 1-bit image of one dot per module (scale it by the module size to print),
 * or undefined when the data does not fit a QR symbol at that level — a printer then prints nothing.
 */
export function qrSymbol(data: Uint8Array, level: QrErrorLevel): RasterImage | undefined {
  let modules: BitMatrix;
  try {
    // Byte mode over the stored bytes, as the printer keeps them; no re-encoding of the text.
    modules = QRCode.create([{ data, mode: 'byte' }], { errorCorrectionLevel: level }).modules;
  } catch {
    return undefined;
  }
  const side = modules.size + 2 * QR_QUIET_MODULES;
  const rowBytes = rasterRowBytes(side);
  const bits = new Uint8Array(rowBytes * side);
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      const x = col + QR_QUIET_MODULES;
      bits[(row + QR_QUIET_MODULES) * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
    }
  }
  return { width: side, height: side, bits };
}
