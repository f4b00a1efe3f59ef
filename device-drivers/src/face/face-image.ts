import { KioskError, isKioskError } from '@kiosk/common';
import { decodeImage, type RawImage } from '../camera/raw-image.js';
import { decodeFaceImage } from '../emrtd/lds/dg2.js';

/**
 * A face photo's bytes as pixels: the chip's DG2 image (JPEG, or JPEG 2000 through the card stack's OpenJPEG
 * decoder) or any image file sharp reads. FACE_IMAGE_UNREADABLE when it is neither.
 */
export async function decodeFacePhoto(bytes: Uint8Array, label: string): Promise<RawImage> {
  let encoded = bytes;
  try {
    // decodeFaceImage turns JPEG 2000 into PNG and checks JPEG fully; other formats go to sharp as they are.
    encoded = (await decodeFaceImage(bytes)).bytes;
  } catch (err) {
    if (!isKioskError(err, 'IMAGE_DECODE_FAILED')) throw err;
    if (isJpegOrJpeg2000(bytes)) throw new KioskError('FACE_IMAGE_UNREADABLE', `${label}: ${err.message}`, { cause: err, details: { path: label } });
  }
  return decodeImage(encoded, label, 'FACE_IMAGE_UNREADABLE');
}

function isJpegOrJpeg2000(bytes: Uint8Array): boolean {
  return (bytes[0] === 0xff && (bytes[1] === 0xd8 || bytes[1] === 0x4f)) || (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0x0c);
}
