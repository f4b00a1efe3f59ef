import { decodeImage, type RawImage } from '../image/index.js';
import { MAX_SIDE } from '../image/jpeg2000.js';

/**
 * A face photo's bytes as pixels: the chip's DG2 image (JPEG or JPEG 2000) or any image file sharp reads.
 * FACE_IMAGE_UNREADABLE when it is none; the pixel bound is the one chip portraits are held to.
 */
export async function decodeFacePhoto(bytes: Uint8Array, label: string): Promise<RawImage> {
  return decodeImage(bytes, label, 'FACE_IMAGE_UNREADABLE', { maxPixels: MAX_SIDE * MAX_SIDE });
}
