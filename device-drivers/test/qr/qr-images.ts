import QRCode from 'qrcode';
import type { RawImage } from '../../src/image/raw-image.js';

/**
 * A clean grey image of `text` as one UTF-8 byte-mode segment (no ECI, as on the CCCD), `modulePx` pixels per
 * module, 4 light modules of quiet zone, placed at (`left`, `top`) on a light canvas of `canvas` pixels.
 */
export function qrImage(text: string, options: { modulePx?: number; canvas?: { width: number; height: number }; left?: number; top?: number } = {}): RawImage {
  const modules = QRCode.create([{ data: Buffer.from(text, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M' }).modules;
  const px = options.modulePx ?? 4;
  const side = (modules.size + 8) * px;
  const width = options.canvas?.width ?? side;
  const height = options.canvas?.height ?? side;
  const data = new Uint8Array(width * height).fill(235);
  const left = options.left ?? 0;
  const top = options.top ?? 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const row = Math.floor(y / px) - 4;
      const col = Math.floor(x / px) - 4;
      const dark = row >= 0 && col >= 0 && row < modules.size && col < modules.size && modules.get(row, col);
      if (top + y < height && left + x < width) data[(top + y) * width + left + x] = dark ? 25 : 235;
    }
  }
  return { width, height, channels: 1, data };
}

/** A light image with no code in it. */
export function blankImage(width: number, height: number): RawImage {
  return { width, height, channels: 1, data: new Uint8Array(width * height).fill(200) };
}
