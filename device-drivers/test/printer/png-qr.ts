// jsqr is CommonJS with an `exports.default`; under NodeNext typing the default import is its module object.
import jsqr from 'jsqr';
import sharp from 'sharp';

/** Reads the QR code in a PNG the way a phone would (jsQR on RGBA pixels); undefined when none is found. */
export async function decodeQrInPng(png: Buffer): Promise<string | undefined> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return jsqr.default(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height)?.data;
}
