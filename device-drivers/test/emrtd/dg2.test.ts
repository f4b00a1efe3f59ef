import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import sharp from 'sharp';
import { isKioskError } from '@kiosk/common';
import { concatBytes, toHex } from '../../src/encoding/bytes.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { decodeFaceImage, encodeDg2, parseDg2, type FaceImage } from '../../src/emrtd/lds/dg2.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
const IMAGE_FUZZ_RUNS = 2000;
const WIDTH = 40;
const HEIGHT = 32;

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
async function rawPixels(png: Uint8Array): Promise<{ data: Uint8Array; channels: number }> {
  const { channels } = await sharp(png).metadata();
  const image = channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), channels: info.channels };
}

const mutation = mutationsOf;

let rgb: Uint8Array;
let grey: Uint8Array;
let j2kRgb: Uint8Array;
let j2kGrey: Uint8Array;
let jp2Rgb: Uint8Array;
let jpeg: Uint8Array;

beforeAll(async () => {
  rgb = picture(3);
  grey = picture(1);
  j2kRgb = await encodeJ2k(rgb, 3);
  j2kGrey = await encodeJ2k(grey, 1);
  jp2Rgb = jp2File(j2kRgb, 3);
  jpeg = new Uint8Array(await sharp(rgb, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
});

describe('DG2 structure', () => {
  it('encodes a face as 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E ISO/IEC 19794-5 record } } }', () => {
    const image = Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3);
    const dg2 = encodeDg2([{ format: 'jpeg', width: 480, height: 640, image }]);
    const record = [
      '46414300 30313000 00000035 0001', // FAC\0, 010\0, record length 53, one image
      '00000027 0000 0000000000000000000000000000', // facial information: length 39, no feature points, all unspecified
      '01 00 01E0 0280 00 00 0000 0000', // image information: full frontal, JPEG, 480 x 640
      'FFD8FFE0010203',
    ].join('');
    const template = `7F604C A112 8002 0101 8101 02 8201 00 8702 0101 8802 0008 5F2E35 ${record}`;
    const expected = `7555 7F6152 020101 ${template}`.replace(/\s/g, '');
    expect(toHex(dg2)).toBe(expected);
    expect(parseDg2(dg2)).toEqual([{ format: 'jpeg', width: 480, height: 640, image }]);
  });

  it('skips feature points and reads several images of one record and several templates', () => {
    const face = (type: number, width: number, image: Uint8Array, featurePoints: number): Uint8Array => {
      const info = new Uint8Array(20 + featurePoints * 8 + 12);
      const view = new DataView(info.buffer);
      view.setUint32(0, info.length + image.length);
      view.setUint16(4, featurePoints);
      info.fill(0xee, 20, 20 + featurePoints * 8);
      const at = 20 + featurePoints * 8;
      view.setUint8(at, 1);
      view.setUint8(at + 1, type);
      view.setUint16(at + 2, width);
      view.setUint16(at + 4, 2 * width);
      return concatBytes(info, image);
    };
    const faces = [face(1, 100, Uint8Array.of(0xff, 0x4f, 0xff, 0x51), 3), face(0, 120, Uint8Array.of(0xff, 0xd8, 0xff), 0)];
    const header = new Uint8Array(14);
    header.set([0x46, 0x41, 0x43, 0x00, 0x30, 0x31, 0x30, 0x00]);
    new DataView(header.buffer).setUint32(8, 14 + faces[0]!.length + faces[1]!.length);
    new DataView(header.buffer).setUint16(12, 2);
    const record = concatBytes(header, ...faces);
    const bht = encodeTlv(0xa1, encodeTlv(0x81, Uint8Array.of(2)));
    const dg2 = encodeTlv(
      0x75,
      encodeTlv(0x7f61, Uint8Array.of(0x02, 0x01, 0x02), encodeTlv(0x7f60, bht, encodeTlv(0x5f2e, record)), encodeTlv(0x7f60, bht, encodeTlv(0x7f2e, record))),
    );
    const parsed = parseDg2(dg2);
    expect(parsed).toHaveLength(4);
    expect(parsed[0]).toEqual({ format: 'jpeg2000', width: 100, height: 200, image: Uint8Array.of(0xff, 0x4f, 0xff, 0x51) });
    expect(parsed[1]).toEqual({ format: 'jpeg', width: 120, height: 240, image: Uint8Array.of(0xff, 0xd8, 0xff) });
  });

  it('refuses broken structures with LDS_MALFORMED', () => {
    const good = encodeDg2([{ format: 'jpeg', width: 1, height: 1, image: Uint8Array.of(1) }]);
    const malformed: unknown = expect.objectContaining({ code: 'LDS_MALFORMED' });
    const patched = (from: number[], to: number[]): Uint8Array => {
      const at = good.findIndex((_, i) => from.every((b, j) => good[i + j] === b));
      const copy = good.slice();
      copy.set(to, at);
      return copy;
    };
    expect(() => parseDg2(patched([0x02, 0x01, 0x01], [0x02, 0x01, 0x02]))).toThrow(malformed); // count 2, one template
    expect(() => parseDg2(patched([0x46, 0x41, 0x43, 0x00], [0x46, 0x41, 0x44]))).toThrow(malformed); // not FAC
    expect(() => parseDg2(patched([0x30, 0x31, 0x30, 0x00], [0x30, 0x33]))).toThrow(malformed); // version 030
    expect(() => parseDg2(patched([0x01, 0x00, 0x00, 0x01, 0x00, 0x01], [0x01, 0x02]))).toThrow(malformed); // image data type 2
    expect(() => parseDg2(patched([0x5f, 0x2e], [0x5f, 0x2f]))).toThrow(malformed); // no data block
    expect(() => parseDg2(encodeTlv(0x75, encodeTlv(0x7f61, Uint8Array.of(0x02, 0x01, 0x00))))).toThrow(malformed);
    expect(() => parseDg2(encodeTlv(0x61, new Uint8Array(0)))).toThrow(malformed);
  });
});

describe('face images', () => {
  it('passes JPEG through, with its size', async () => {
    const decoded = await decodeFaceImage(jpeg);
    expect(decoded).toMatchObject({ mime: 'image/jpeg', width: WIDTH, height: HEIGHT });
    expect(decoded.bytes).toEqual(jpeg);
  });

  it('decodes a JPEG 2000 codestream (FF4FFF51) to PNG, pixel for pixel (lossless), colour and grey', async () => {
    expect(toHex(j2kRgb.subarray(0, 4))).toBe('FF4FFF51');
    const decoded = await decodeFaceImage(j2kRgb);
    expect(decoded).toMatchObject({ mime: 'image/png', width: WIDTH, height: HEIGHT });
    expect(toHex(decoded.bytes.subarray(0, 8))).toBe('89504E470D0A1A0A');
    expect(await rawPixels(decoded.bytes)).toEqual({ data: rgb, channels: 3 });
    const decodedGrey = await decodeFaceImage(j2kGrey);
    expect(await rawPixels(decodedGrey.bytes)).toEqual({ data: grey, channels: 1 });
  });

  it('decodes a JP2 file', async () => {
    const decoded = await decodeFaceImage(jp2Rgb);
    expect(decoded).toMatchObject({ mime: 'image/png', width: WIDTH, height: HEIGHT });
    expect(await rawPixels(decoded.bytes)).toEqual({ data: rgb, channels: 3 });
  });

  it('decodes the image of a DG2 face', async () => {
    const [face] = parseDg2(encodeDg2([{ format: 'jpeg2000', width: WIDTH, height: HEIGHT, image: jp2Rgb }]));
    expect((await decodeFaceImage(face!.image)).width).toBe(WIDTH);
  });

  it('fails with IMAGE_DECODE_FAILED on truncated or corrupt JPEG 2000 and on other data', async () => {
    const failed: unknown = expect.objectContaining({ code: 'IMAGE_DECODE_FAILED' });
    await expect(decodeFaceImage(jp2Rgb.subarray(0, Math.floor(jp2Rgb.length / 2)))).rejects.toEqual(failed);
    await expect(decodeFaceImage(jp2Rgb.subarray(0, 90))).rejects.toEqual(failed);
    await expect(decodeFaceImage(j2kRgb.subarray(0, j2kRgb.length - 20))).rejects.toEqual(failed);
    const corruptMarker = j2kRgb.slice();
    corruptMarker.set([0xff, 0x99], 4 + 0x2f); // the marker after SIZ (COD) becomes an unknown one
    await expect(decodeFaceImage(corruptMarker)).rejects.toEqual(failed);
    const huge = j2kRgb.slice();
    new DataView(huge.buffer).setUint32(8, 60_000);
    await expect(decodeFaceImage(huge)).rejects.toEqual(failed);
    await expect(decodeFaceImage(jpeg.subarray(0, 200))).rejects.toEqual(failed);
    await expect(decodeFaceImage(Uint8Array.of(1, 2, 3))).rejects.toEqual(failed);
    await expect(decodeFaceImage(new Uint8Array(0))).rejects.toEqual(failed);
  });
});

const faceImage: fc.Arbitrary<FaceImage> = fc.record({
  format: fc.constantFrom('jpeg' as const, 'jpeg2000' as const),
  width: fc.integer({ min: 0, max: 0xffff }),
  height: fc.integer({ min: 0, max: 0xffff }),
  image: fc.uint8Array({ minLength: 1, maxLength: 300 }),
});

const onlyTypedErrors = typedErrorsOnly(parseDg2);

async function onlyDecodeFailures(bytes: Uint8Array): Promise<void> {
  try {
    await decodeFaceImage(bytes);
  } catch (err) {
    if (!isKioskError(err, 'IMAGE_DECODE_FAILED')) throw err;
  }
}

describe('DG2 properties', () => {
  it('parseDg2(encodeDg2(faces)) gives back the faces (1000 runs)', () => {
    fc.assert(
      fc.property(fc.array(faceImage, { minLength: 1, maxLength: 3 }), (faces) => {
        expect(parseDg2(encodeDg2(faces))).toEqual(faces);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated DG2 files give only TLV_MALFORMED / LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    const valid = encodeDg2([
      { format: 'jpeg2000', width: WIDTH, height: HEIGHT, image: j2kRgb.subarray(0, 40) },
      { format: 'jpeg', width: 2, height: 3, image: Uint8Array.of(0xff, 0xd8, 0xff, 0xd9) },
    ]);
    fc.assert(fc.property(mutation(valid), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
  });

  it(`fuzz: decodeFaceImage on mutated J2K, JP2 and JPEG and on random data after each magic gives only IMAGE_DECODE_FAILED (${IMAGE_FUZZ_RUNS} runs each)`, async () => {
    for (const valid of [j2kRgb, jp2Rgb, jpeg]) {
      await fc.assert(fc.asyncProperty(mutation(valid), onlyDecodeFailures), { numRuns: IMAGE_FUZZ_RUNS, seed: SEED });
    }
    const magics = [Uint8Array.of(0xff, 0x4f, 0xff, 0x51), jp2Rgb.subarray(0, 12), Uint8Array.of(0xff, 0xd8, 0xff)];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 200 }), (magic, rest) => onlyDecodeFailures(concatBytes(magic, rest))),
      { numRuns: IMAGE_FUZZ_RUNS, seed: SEED },
    );
  }, 120_000);
});
