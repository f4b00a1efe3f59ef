import { readFile } from 'node:fs/promises';
import { KioskError, type ErrorCode } from '@kiosk/common';
import sharp from 'sharp';

/** Uncompressed pixels, row-major, `channels` interleaved bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

/** Throws CAMERA_FRAME_INVALID unless the sizes are positive integers and the buffer holds exactly the pixels. */
export function assertRawImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  const sizesOk = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && [1, 2, 3, 4].includes(channels);
  if (!sizesOk || data.length !== width * height * channels) {
    throw new KioskError('CAMERA_FRAME_INVALID', `image of ${width}x${height}x${channels} does not match its ${data.length} bytes`, { details: { width, height, channels, bytes: data.length } });
  }
}

/**
 * Decodes an image file (PNG, JPEG, WebP, TIFF, GIF: whatever sharp reads) to raw pixels; a KioskError with `code`
 * (the caller's view: an unreadable input image, or a camera source) if it cannot.
 */
export async function readImageFile(path: string, code: ErrorCode = 'QR_IMAGE_UNREADABLE'): Promise<RawImage> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (cause) {
    throw new KioskError(code, `cannot read ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
  return decodeImage(file, path, code);
}

/** Decodes encoded image bytes to raw pixels; `label` names the source in errors. */
export async function decodeImage(bytes: Uint8Array, label: string, code: ErrorCode = 'QR_IMAGE_UNREADABLE'): Promise<RawImage> {
  try {
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (cause) {
    throw new KioskError(code, `${label} is not an image sharp can decode: ${(cause as Error).message}`, { cause, details: { path: label } });
  }
}
