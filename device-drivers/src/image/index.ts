// Images for every device (camera, QR, face, chip DG2): pixels, rectangles, decoding. @kiosk/device-drivers/image
export { assertRawImage, type RawImage, type Rect } from './raw-image.js';
export { decodeImage, decodePortrait, readImageFile, type DecodeLimits, type DecodedPortrait, type DisplayImage } from './decode.js';
