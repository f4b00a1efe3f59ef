import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { concatBytes } from '../../src/encoding/bytes.js';

// Test pictures in every format the image module reads, made locally (OpenJPEG WASM encoder, sharp): no files.
export const WIDTH = 40;
export const HEIGHT = 32;

/** A deterministic test picture: gradients per channel. */
function picture(channels: 1 | 3): Uint8Array {
  const pixels = new Uint8Array(WIDTH * HEIGHT * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + Math.floor(i / (WIDTH * channels)) * 13) & 0xff;
  return pixels;
}

interface J2kEncoder {
  getDecodedBuffer(frame: { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean }): Uint8Array;
  setDecompositions(n: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}
type EncoderFactory = (module: { wasmBinary: Uint8Array; print: () => void; printErr: () => void }) => Promise<{ J2KEncoder: new () => J2kEncoder }>;

/** Lossless J2K codestream made with the encoder of the same OpenJPEG WASM package (no network, no system tool). */
async function encodeJ2k(pixels: Uint8Array, channels: 1 | 3): Promise<Uint8Array> {
  const require = createRequire(import.meta.url);
  const factory = require('@cornerstonejs/codec-openjpeg/wasmjs') as EncoderFactory;
  const codec = await factory({ wasmBinary: readFileSync(require.resolve('@cornerstonejs/codec-openjpeg/wasm')), print: () => {}, printErr: () => {} });
  const encoder = new codec.J2KEncoder();
  try {
    encoder.getDecodedBuffer({ width: WIDTH, height: HEIGHT, bitsPerSample: 8, componentCount: channels, isSigned: false }).set(pixels);
    encoder.setDecompositions(2);
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

/** A JP2 file (ISO/IEC 15444-1 Annex I): signature, file type, header (ihdr, colr) and codestream boxes. */
function jp2File(codestream: Uint8Array, channels: 1 | 3): Uint8Array {
  const box = (type: string, ...content: Uint8Array[]): Uint8Array => {
    const body = concatBytes(...content);
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(0, body.length + 8);
    header.set(new TextEncoder().encode(type), 4);
    return concatBytes(header, body);
  };
  const ihdr = new Uint8Array(14);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, HEIGHT);
  view.setUint32(4, WIDTH);
  view.setUint16(8, channels);
  ihdr.set([7, 7, 0, 0], 10); // 8-bit unsigned, wavelet compression, colourspace known, no IPR
  const colr = Uint8Array.of(1, 0, 0, 0, 0, 0, channels === 3 ? 16 : 17); // enumerated sRGB / greyscale
  return concatBytes(
    box('jP  ', Uint8Array.of(0x0d, 0x0a, 0x87, 0x0a)),
    box('ftyp', new TextEncoder().encode('jp2 '), new Uint8Array(4), new TextEncoder().encode('jp2 ')),
    box('jp2h', box('ihdr', ihdr), box('colr', colr)),
    box('jp2c', codestream),
  );
}

/** The PNG's pixels with its own channel count (sharp would expand grey to RGB unless told otherwise). */
export async function rawPixels(png: Uint8Array): Promise<{ data: Uint8Array; channels: number }> {
  const { channels } = await sharp(png).metadata();
  const image = channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), channels: info.channels };
}

export interface Samples {
  rgb: Uint8Array;
  grey: Uint8Array;
  j2kRgb: Uint8Array;
  j2kGrey: Uint8Array;
  jp2Rgb: Uint8Array;
  jpeg: Uint8Array;
  png: Uint8Array;
}

export async function makeSamples(): Promise<Samples> {
  const rgb = picture(3);
  const grey = picture(1);
  const j2kRgb = await encodeJ2k(rgb, 3);
  const raw = { raw: { width: WIDTH, height: HEIGHT, channels: 3 as const } };
  return {
    rgb,
    grey,
    j2kRgb,
    j2kGrey: await encodeJ2k(grey, 1),
    jp2Rgb: jp2File(j2kRgb, 3),
    jpeg: new Uint8Array(await sharp(rgb, raw).jpeg({ quality: 90 }).toBuffer()),
    png: new Uint8Array(await sharp(rgb, raw).png().toBuffer()),
  };
}
