/**
 * ESC/POS command bytes for Epson-compatible thermal receipt printers.
 *
 * Hand-written rather than taken from npm: the ESC/POS encoders there either lack GS v 0 raster output (which
 * Vietnamese text needs, since printers cannot compose CP1258 combining marks) or pull in a native canvas.
 */
import { KioskError } from '@kiosk/common';
import { concatBytes } from '../encoding/bytes.js';

export const ESC = 0x1b;
export const GS = 0x1d;
export const LF = 0x0a;

export type Alignment = 'left' | 'center' | 'right';
export type QrErrorLevel = 'L' | 'M' | 'Q' | 'H';

/** A 1-bit image: rows of ceil(width / 8) bytes, most significant bit = leftmost dot, 1 = black. */
export interface RasterImage {
  width: number;
  height: number;
  bits: Uint8Array;
}

export function rasterRowBytes(width: number): number {
  return Math.ceil(width / 8);
}

const ALIGNMENT_CODE: Record<Alignment, number> = { left: 0, center: 1, right: 2 };
/** GS ( k function 169 takes 48..51 for L, M, Q, H. */
const QR_LEVEL_CODE: Record<QrErrorLevel, number> = { L: 48, M: 49, Q: 50, H: 51 };

/**
 * Rows per GS v 0 command. Cheap printers have small receive buffers and some drop images taller than a few
 * hundred rows, so tall images go out as bands.
 */
export const RASTER_BAND_ROWS = 256;

/** Largest QR payload a GS ( k store can carry (pL pH counts the payload plus 3 bytes). */
export const QR_MAX_DATA = 7089;

function usage(message: string, details: Record<string, unknown>): KioskError {
  return new KioskError('USAGE', message, { details: { device: 'printer', ...details } });
}

function checkByte(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw usage(`${name} must be an integer ${min}..${max}`, { [name]: value });
}

/** ESC @: clears the print buffer and resets modes to power-on defaults. */
export function initialize(): Uint8Array {
  return Uint8Array.of(ESC, 0x40);
}

/** ESC a n: justification of text, raster images and QR codes on the following lines. */
export function align(alignment: Alignment): Uint8Array {
  return Uint8Array.of(ESC, 0x61, ALIGNMENT_CODE[alignment]);
}

/** ESC E n: emphasized (bold) text on or off. */
export function bold(on: boolean): Uint8Array {
  return Uint8Array.of(ESC, 0x45, on ? 1 : 0);
}

/** GS ! n: character magnification, 1..8 in each direction (high nibble width, low nibble height). */
export function textSize(width: number, height: number): Uint8Array {
  checkByte('width', width, 1, 8);
  checkByte('height', height, 1, 8);
  return Uint8Array.of(GS, 0x21, ((width - 1) << 4) | (height - 1));
}

/** LF: prints the buffered line and advances one line. */
export function lineFeed(): Uint8Array {
  return Uint8Array.of(LF);
}

/** ESC d n: prints the buffer and feeds n lines (used before a cut so the last line clears the blade). */
export function feedLines(lines: number): Uint8Array {
  checkByte('lines', lines, 0, 255);
  return Uint8Array.of(ESC, 0x64, lines);
}

/**
 * Printable ASCII for the printer's own font. Anything else would print through the printer's code page, which
 * differs between models, so Vietnamese must go through `rasterImage` instead.
 */
export function text(value: string): Uint8Array {
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) throw usage('text() takes printable ASCII only; render other text as a raster image', { index: i });
    bytes[i] = code;
  }
  return bytes;
}

/** GS v 0 m xL xH yL yH d...: a raster bit image at normal density (m = 0), sent in bands of RASTER_BAND_ROWS. */
export function rasterImage(image: RasterImage): Uint8Array {
  const rowBytes = rasterRowBytes(image.width);
  if (image.width < 1 || rowBytes > 0xffff || image.height < 1 || image.bits.length !== rowBytes * image.height) {
    throw usage('raster image dimensions do not match its data', { width: image.width, height: image.height, bytes: image.bits.length });
  }
  const parts: Uint8Array[] = [];
  for (let top = 0; top < image.height; top += RASTER_BAND_ROWS) {
    const rows = Math.min(RASTER_BAND_ROWS, image.height - top);
    parts.push(Uint8Array.of(GS, 0x76, 0x30, 0, rowBytes & 0xff, rowBytes >> 8, rows & 0xff, rows >> 8));
    parts.push(image.bits.subarray(top * rowBytes, (top + rows) * rowBytes));
  }
  return concatBytes(...parts);
}

export interface QrOptions {
  /** Dots per module, 1..16. */
  moduleSize: number;
  errorLevel: QrErrorLevel;
}

/** GS ( k, cn = 49: select model 2 (fn 165), module size (167), error level (169), store (180), print (181). */
export function qrCode(data: string, options: QrOptions): Uint8Array {
  checkByte('moduleSize', options.moduleSize, 1, 16);
  const payload = new TextEncoder().encode(data);
  if (payload.length < 1 || payload.length > QR_MAX_DATA) throw usage(`QR data must be 1..${QR_MAX_DATA} bytes`, { bytes: payload.length });
  const storeLength = payload.length + 3;
  return concatBytes(
    Uint8Array.of(GS, 0x28, 0x6b, 4, 0, 49, 65, 50, 0),
    Uint8Array.of(GS, 0x28, 0x6b, 3, 0, 49, 67, options.moduleSize),
    Uint8Array.of(GS, 0x28, 0x6b, 3, 0, 49, 69, QR_LEVEL_CODE[options.errorLevel]),
    Uint8Array.of(GS, 0x28, 0x6b, storeLength & 0xff, storeLength >> 8, 49, 80, 48),
    payload,
    Uint8Array.of(GS, 0x28, 0x6b, 3, 0, 49, 81, 48)
  );
}

/** GS V: full or partial cut; with `feedDots`, function B (m = 65/66) first feeds that many dots to the blade. */
export function cut(options: { partial?: boolean; feedDots?: number } = {}): Uint8Array {
  const partial = options.partial ?? false;
  if (options.feedDots === undefined) return Uint8Array.of(GS, 0x56, partial ? 1 : 0);
  checkByte('feedDots', options.feedDots, 0, 255);
  return Uint8Array.of(GS, 0x56, partial ? 66 : 65, options.feedDots);
}
