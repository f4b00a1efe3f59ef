import { readFile } from 'node:fs/promises';
import { KioskError, type ErrorCode } from '@kiosk/common';
import sharp from 'sharp';
import { startsWith } from '../encoding/bytes.js';
import { decodeJpeg2000, J2K_SOC_SIZ, JP2_SIGNATURE, MAX_SIDE, type ImageFailure } from './jpeg2000.js';
import type { RawImage } from './raw-image.js';

/**
 * Encoded image bytes to pixels for every caller (camera files, QR images, chip and live face photos): JPEG 2000
 * through OpenJPEG (WASM), everything else (JPEG, PNG, WebP, TIFF, GIF) through sharp. Errors carry the code the
 * caller passes (its own view: QR_IMAGE_UNREADABLE, FACE_IMAGE_UNREADABLE, ...), IMAGE_DECODE_FAILED by default.
 */

const JPEG_SOI = Uint8Array.of(0xff, 0xd8, 0xff);

export interface DecodeLimits {
  /** Refuse sharp-decoded images with more pixels than this (sharp's own default is 268 million). */
  maxPixels?: number;
}

function failure(code: ErrorCode, label: string): ImageFailure {
  return (message, cause) => new KioskError(code, `${label}: ${message}`, { ...(cause === undefined ? {} : { cause }), details: { path: label } });
}

function isJpeg2000(bytes: Uint8Array): boolean {
  return startsWith(bytes, J2K_SOC_SIZ) || startsWith(bytes, JP2_SIGNATURE);
}

/** Decodes encoded image bytes to raw pixels; `label` names the source in errors. */
export async function decodeImage(bytes: Uint8Array, label: string, code: ErrorCode = 'IMAGE_DECODE_FAILED', limits: DecodeLimits = {}): Promise<RawImage> {
  if (isJpeg2000(bytes)) return decodeJpeg2000(bytes, failure(code, label));
  try {
    const { data, info } = await sharp(bytes, limits.maxPixels === undefined ? {} : { limitInputPixels: limits.maxPixels }).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (cause) {
    throw new KioskError(code, `${label} is not an image sharp can decode: ${(cause as Error).message}`, { cause, details: { path: label } });
  }
}

/** Reads and decodes an image file; a KioskError with `code` if it cannot be read or decoded. */
export async function readImageFile(path: string, code: ErrorCode = 'IMAGE_DECODE_FAILED'): Promise<RawImage> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (cause) {
    throw new KioskError(code, `cannot read ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
  return decodeImage(file, path, code);
}

/** An image a browser can show, with its size. */
export interface DisplayImage {
  mime: 'image/jpeg' | 'image/png';
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** A portrait decoded once: its pixels for the face match and the image a browser shows. */
export interface DecodedPortrait {
  pixels: RawImage;
  display: DisplayImage;
}

/**
 * A chip portrait (JPEG or JPEG 2000, ISO 19794-5) decoded once, for both of its uses: the pixels, and the image a
 * browser shows (JPEG passes through after the full decode, so a truncated photo fails here rather than in the
 * browser; JPEG 2000, JP2 file or raw J2K codestream, is re-encoded as PNG). The format is taken from the bytes, not
 * from any header that names it, which some chips get wrong.
 */
export async function decodePortrait(image: Uint8Array, label = 'portrait', code: ErrorCode = 'IMAGE_DECODE_FAILED'): Promise<DecodedPortrait> {
  const fail = failure(code, label);
  if (startsWith(image, JPEG_SOI)) {
    const pixels = await decodeImage(image, label, code, { maxPixels: MAX_SIDE * MAX_SIDE });
    return { pixels, display: { mime: 'image/jpeg', bytes: image.slice(), width: pixels.width, height: pixels.height } };
  }
  if (!isJpeg2000(image)) throw fail('neither JPEG nor JPEG 2000');
  const pixels = await decodeJpeg2000(image, fail);
  const { width, height, channels, data } = pixels;
  const raw = sharp(data, { raw: { width, height, channels } });
  // sharp would write a grey image as RGB unless told to keep one channel.
  const png = await (channels === 1 ? raw.toColourspace('b-w') : raw).png().toBuffer();
  return { pixels, display: { mime: 'image/png', bytes: new Uint8Array(png), width, height } };
}
