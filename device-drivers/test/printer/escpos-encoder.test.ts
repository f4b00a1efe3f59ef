import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { align, bold, cut, feedLines, initialize, lineFeed, qrCode, rasterImage, text, textSize } from '../../src/printer/escpos-encoder.js';

const bytes = (u: Uint8Array): number[] => [...u];

describe('ESC/POS encoder', () => {
  it('encodes the mode commands exactly', () => {
    expect(bytes(initialize())).toEqual([0x1b, 0x40]);
    expect(bytes(align('left'))).toEqual([0x1b, 0x61, 0]);
    expect(bytes(align('center'))).toEqual([0x1b, 0x61, 1]);
    expect(bytes(align('right'))).toEqual([0x1b, 0x61, 2]);
    expect(bytes(bold(true))).toEqual([0x1b, 0x45, 1]);
    expect(bytes(bold(false))).toEqual([0x1b, 0x45, 0]);
    expect(bytes(textSize(1, 1))).toEqual([0x1d, 0x21, 0x00]);
    expect(bytes(textSize(2, 3))).toEqual([0x1d, 0x21, 0x12]);
    expect(bytes(textSize(8, 8))).toEqual([0x1d, 0x21, 0x77]);
    expect(bytes(lineFeed())).toEqual([0x0a]);
    expect(bytes(feedLines(3))).toEqual([0x1b, 0x64, 3]);
  });

  it('encodes cuts: GS V 0 / 1, and function B with a feed', () => {
    expect(bytes(cut())).toEqual([0x1d, 0x56, 0]);
    expect(bytes(cut({ partial: true }))).toEqual([0x1d, 0x56, 1]);
    expect(bytes(cut({ feedDots: 10 }))).toEqual([0x1d, 0x56, 65, 10]);
    expect(bytes(cut({ partial: true, feedDots: 0 }))).toEqual([0x1d, 0x56, 66, 0]);
  });

  it('keeps text to printable ASCII', () => {
    expect(bytes(text('A1 ~'))).toEqual([0x41, 0x31, 0x20, 0x7e]);
    expect(() => text('Số')).toThrow(expect.objectContaining({ code: 'USAGE' }) as Error);
    expect(() => text('a\nb')).toThrow();
  });

  it('encodes GS v 0 with xL xH (bytes per row) and yL yH (rows), then the data', () => {
    // 10 dots wide needs 2 bytes per row; 3 rows.
    const bits = Uint8Array.of(0x80, 0x40, 0xff, 0xc0, 0x00, 0x00);
    expect(bytes(rasterImage({ width: 10, height: 3, bits }))).toEqual([0x1d, 0x76, 0x30, 0, 2, 0, 3, 0, ...bits]);
  });

  it('sends tall images as bands of 256 rows', () => {
    const image = { width: 8, height: 300, bits: new Uint8Array(300).fill(0xaa) };
    const out = rasterImage(image);
    expect(out.length).toBe(8 + 256 + 8 + 44);
    expect(bytes(out.subarray(0, 8))).toEqual([0x1d, 0x76, 0x30, 0, 1, 0, 0, 1]);
    expect(bytes(out.subarray(264, 272))).toEqual([0x1d, 0x76, 0x30, 0, 1, 0, 44, 0]);
  });

  it('rejects a raster whose data does not match its size', () => {
    let caught: unknown;
    try {
      rasterImage({ width: 9, height: 2, bits: new Uint8Array(3) });
    } catch (err) {
      caught = err;
    }
    expect(isKioskError(caught, 'USAGE')).toBe(true);
  });

  it('encodes a QR code with GS ( k functions 165, 167, 169, 180 and 181', () => {
    const out = qrCode('AB', { moduleSize: 6, errorLevel: 'M' });
    expect(bytes(out)).toEqual([
      0x1d, 0x28, 0x6b, 4, 0, 0x31, 0x41, 0x32, 0x00, // model 2
      0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x43, 6, // module size
      0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x45, 0x31, // error level M
      0x1d, 0x28, 0x6b, 5, 0, 0x31, 0x50, 0x30, 0x41, 0x42, // store: pL pH = k + 3
      0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x51, 0x30, // print
    ]);
  });

  it('puts the store length in pL pH for long QR data', () => {
    const out = qrCode('x'.repeat(300), { moduleSize: 3, errorLevel: 'L' });
    expect(bytes(out.subarray(25, 33))).toEqual([0x1d, 0x28, 0x6b, 303 & 0xff, 303 >> 8, 0x31, 0x50, 0x30]);
    expect(out[24]).toBe(0x30); // error level L
  });

  it('rejects out-of-range parameters', () => {
    expect(() => textSize(0, 1)).toThrow();
    expect(() => textSize(1, 9)).toThrow();
    expect(() => qrCode('', { moduleSize: 3, errorLevel: 'L' })).toThrow();
    expect(() => qrCode('a', { moduleSize: 17, errorLevel: 'L' })).toThrow();
    expect(() => feedLines(256)).toThrow();
  });
});
