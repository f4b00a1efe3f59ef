import { assertRawImage, type RawImage, type Rect } from '../../image/raw-image.js';

/** One luminance byte per pixel, row-major: what every QR decoder binarizes. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Luminance (ITU-R BT.601 integer weights, as zxing uses); alpha is ignored. Grey input is returned as is. */
export function toGray(image: RawImage): GrayImage {
  assertRawImage(image, 'CAMERA_FRAME_INVALID');
  const { width, height, channels, data } = image;
  if (channels === 1) return { width, height, data };
  const out = new Uint8Array(width * height);
  if (channels === 2) {
    for (let i = 0, j = 0; i < out.length; i++, j += 2) out[i] = data[j]!;
  } else {
    for (let i = 0, j = 0; i < out.length; i++, j += channels) out[i] = (306 * data[j]! + 601 * data[j + 1]! + 117 * data[j + 2]! + 512) >> 10;
  }
  return { width, height, data: out };
}

/** The part of `image` inside `rect`, clipped to the image. */
export function crop(image: GrayImage, rect: Rect): GrayImage {
  const x0 = Math.max(0, Math.floor(rect.x));
  const y0 = Math.max(0, Math.floor(rect.y));
  const x1 = Math.min(image.width, Math.ceil(rect.x + rect.width));
  const y1 = Math.min(image.height, Math.ceil(rect.y + rect.height));
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) data.set(image.data.subarray((y0 + y) * image.width + x0, (y0 + y) * image.width + x0 + width), y * width);
  return { width, height, data };
}

/** Half size by 2x2 box averaging (odd last row/column dropped). */
export function halve(image: GrayImage): GrayImage {
  const width = image.width >> 1;
  const height = image.height >> 1;
  const src = image.data;
  const stride = image.width;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = 2 * y * stride;
    for (let x = 0; x < width; x++) {
      const i = row + 2 * x;
      data[y * width + x] = (src[i]! + src[i + 1]! + src[i + stride]! + src[i + stride + 1]! + 2) >> 2;
    }
  }
  return { width, height, data };
}

/**
 * 3x3 box filter (borders kept): averages sensor noise away before binarization. On the hard-frame corpus it
 * rescued most frames zxing-wasm missed (low contrast + noise), where contrast stretch and sharpening did not.
 */
export function boxBlur3(image: GrayImage): GrayImage {
  const { width: w, height: h, data: s } = image;
  const data = new Uint8Array(s);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const sum = s[i - w - 1]! + s[i - w]! + s[i - w + 1]! + s[i - 1]! + s[i]! + s[i + 1]! + s[i + w - 1]! + s[i + w]! + s[i + w + 1]!;
      data[i] = ((sum + 4) * 7282) >> 16; // sum / 9, rounded, without a division per pixel
    }
  }
  return { width: w, height: h, data };
}

/** RGBA with the luminance in R, G and B: the input type of zxing-wasm's ImageData path and of jsQR. */
export function grayToRgba(image: GrayImage): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  const words = new Uint32Array(rgba.buffer);
  // Little-endian words: 0xAABBGGRR.
  for (let i = 0; i < words.length; i++) words[i] = (image.data[i]! * 0x010101 + 0xff000000) >>> 0;
  return rgba;
}
