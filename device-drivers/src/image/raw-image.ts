import { KioskError, type ErrorCode } from '@kiosk/common';

/** Uncompressed pixels, row-major, `channels` interleaved bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

/** A rectangle in pixel coordinates (fractions allowed): a face box, a QR search window. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Throws `code` unless the sizes are positive integers and the buffer holds exactly the pixels. */
export function assertRawImage(image: RawImage, code: ErrorCode = 'IMAGE_DECODE_FAILED'): void {
  const { width, height, channels, data } = image;
  const sizesOk = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && [1, 2, 3, 4].includes(channels);
  if (!sizesOk || data.length !== width * height * channels) {
    throw new KioskError(code, `image of ${width}x${height}x${channels} does not match its ${data.length} bytes`, { details: { width, height, channels, bytes: data.length } });
  }
}
