import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKioskError } from '@kiosk/common';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../src/encoding/bytes.js';
import { assertRawImage, decodeImage, decodePortrait, readImageFile } from '../../src/image/index.js';
import { mutationsOf } from '../emrtd/fuzz.js';
import { HEIGHT, makeSamples, rawPixels, WIDTH, type Samples } from './samples.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const IMAGE_FUZZ_RUNS = 1000;
/** Keeps a mutated size field from making sharp allocate hundreds of megabytes. */
const FUZZ_LIMITS = { maxPixels: 4096 * 4096 };
const failed: unknown = expect.objectContaining({ code: 'IMAGE_DECODE_FAILED' });

let s: Samples;
let dir: string;

beforeAll(async () => {
  s = await makeSamples();
  dir = await mkdtemp(join(tmpdir(), 'kiosk-image-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeImage', () => {
  it('decodes JPEG, PNG, J2K and JP2 to pixels; JPEG 2000 pixel for pixel (lossless), colour and grey', async () => {
    expect(await decodeImage(s.jpeg, 'jpeg')).toMatchObject({ width: WIDTH, height: HEIGHT, channels: 3 });
    expect(await decodeImage(s.png, 'png')).toEqual({ width: WIDTH, height: HEIGHT, channels: 3, data: s.rgb });
    expect(await decodeImage(s.j2kRgb, 'j2k')).toEqual({ width: WIDTH, height: HEIGHT, channels: 3, data: s.rgb });
    expect(await decodeImage(s.j2kGrey, 'j2k grey')).toEqual({ width: WIDTH, height: HEIGHT, channels: 1, data: s.grey });
    expect(await decodeImage(s.jp2Rgb, 'jp2')).toEqual({ width: WIDTH, height: HEIGHT, channels: 3, data: s.rgb });
  });

  it('fails with IMAGE_DECODE_FAILED by default on garbage and truncated JPEG, PNG and J2K', async () => {
    const cases = [
      Uint8Array.of(1, 2, 3),
      new Uint8Array(0),
      s.jpeg.subarray(0, 200),
      s.png.subarray(0, 60),
      s.png.subarray(0, s.png.length - 20),
      s.j2kRgb.subarray(0, 30),
      s.j2kRgb.subarray(0, s.j2kRgb.length - 20),
      s.jp2Rgb.subarray(0, 90),
    ];
    for (const bytes of cases) await expect(decodeImage(bytes, 'bad')).rejects.toEqual(failed);
  });

  it('uses the code the caller passes, and names the source in the message', async () => {
    await expect(decodeImage(s.j2kRgb.subarray(0, 30), 'chip photo', 'FACE_IMAGE_UNREADABLE')).rejects.toEqual(
      expect.objectContaining({ code: 'FACE_IMAGE_UNREADABLE', message: expect.stringMatching(/^chip photo: JPEG 2000/) as unknown }),
    );
    await expect(decodeImage(s.png.subarray(0, 60), 'qr.png', 'QR_IMAGE_UNREADABLE')).rejects.toEqual(expect.objectContaining({ code: 'QR_IMAGE_UNREADABLE' }));
  });

  it('refuses images over maxPixels', async () => {
    await expect(decodeImage(s.png, 'png', 'FACE_IMAGE_UNREADABLE', { maxPixels: WIDTH * HEIGHT - 1 })).rejects.toEqual(expect.objectContaining({ code: 'FACE_IMAGE_UNREADABLE' }));
    expect((await decodeImage(s.png, 'png', 'FACE_IMAGE_UNREADABLE', { maxPixels: WIDTH * HEIGHT })).width).toBe(WIDTH);
  });

  it('readImageFile reads a file, and reports a missing or broken one with the given code', async () => {
    const good = join(dir, 'good.png');
    const bad = join(dir, 'bad.png');
    await writeFile(good, s.png);
    await writeFile(bad, s.png.subarray(0, 60));
    expect((await readImageFile(good)).data).toEqual(s.rgb);
    await expect(readImageFile(bad)).rejects.toEqual(failed);
    await expect(readImageFile(join(dir, 'missing.png'), 'CAMERA_START_FAILED')).rejects.toEqual(expect.objectContaining({ code: 'CAMERA_START_FAILED' }));
  });
});

describe('assertRawImage', () => {
  it('accepts matching pixels and throws the given code (IMAGE_DECODE_FAILED by default) otherwise', () => {
    expect(() => assertRawImage({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) })).not.toThrow();
    expect(() => assertRawImage({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) })).toThrow(failed);
    expect(() => assertRawImage({ width: 0, height: 2, channels: 1, data: new Uint8Array(0) }, 'CAMERA_FRAME_INVALID')).toThrow(expect.objectContaining({ code: 'CAMERA_FRAME_INVALID' }));
  });
});

/** What a browser is shown of a portrait. */
const displayOf = async (bytes: Uint8Array) => (await decodePortrait(bytes)).display;

describe('decodePortrait', () => {
  it('passes JPEG through for display, with its size, and gives the same pixels as decodeImage', async () => {
    const portrait = await decodePortrait(s.jpeg);
    expect(portrait.display).toMatchObject({ mime: 'image/jpeg', width: WIDTH, height: HEIGHT });
    expect(portrait.display.bytes).toEqual(s.jpeg);
    expect(portrait.pixels).toEqual(await decodeImage(s.jpeg, 'jpeg'));
  });

  it('decodes JPEG 2000 once: the PNG shown holds exactly the pixels returned', async () => {
    const portrait = await decodePortrait(s.j2kRgb);
    expect(portrait.pixels).toMatchObject({ width: WIDTH, height: HEIGHT, channels: 3 });
    expect(portrait.pixels.data).toEqual(s.rgb);
    expect(await rawPixels(portrait.display.bytes)).toEqual({ data: portrait.pixels.data, channels: 3 });
  });

  it('names its source and uses the caller\'s error code', async () => {
    await expect(decodePortrait(Uint8Array.of(1, 2, 3), 'chip photo', 'FACE_IMAGE_UNREADABLE')).rejects.toEqual(expect.objectContaining({ code: 'FACE_IMAGE_UNREADABLE', message: 'chip photo: neither JPEG nor JPEG 2000' }));
    await expect(decodePortrait(s.jpeg.subarray(0, 200), 'chip photo', 'FACE_IMAGE_UNREADABLE')).rejects.toEqual(expect.objectContaining({ code: 'FACE_IMAGE_UNREADABLE' }));
  });

  it('turns a JPEG 2000 codestream (FF4FFF51) into PNG, pixel for pixel (lossless), colour and grey', async () => {
    expect(toHex(s.j2kRgb.subarray(0, 4))).toBe('FF4FFF51');
    const shown = await displayOf(s.j2kRgb);
    expect(shown).toMatchObject({ mime: 'image/png', width: WIDTH, height: HEIGHT });
    expect(toHex(shown.bytes.subarray(0, 8))).toBe('89504E470D0A1A0A');
    expect(await rawPixels(shown.bytes)).toEqual({ data: s.rgb, channels: 3 });
    expect(await rawPixels((await displayOf(s.j2kGrey)).bytes)).toEqual({ data: s.grey, channels: 1 });
  });

  it('turns a JP2 file into PNG', async () => {
    const shown = await displayOf(s.jp2Rgb);
    expect(shown).toMatchObject({ mime: 'image/png', width: WIDTH, height: HEIGHT });
    expect(await rawPixels(shown.bytes)).toEqual({ data: s.rgb, channels: 3 });
  });

  it('fails with IMAGE_DECODE_FAILED on truncated or corrupt JPEG 2000 and JPEG, and on other data (PNG included)', async () => {
    await expect(displayOf(s.jp2Rgb.subarray(0, Math.floor(s.jp2Rgb.length / 2)))).rejects.toEqual(failed);
    await expect(displayOf(s.jp2Rgb.subarray(0, 90))).rejects.toEqual(failed);
    await expect(displayOf(s.j2kRgb.subarray(0, s.j2kRgb.length - 20))).rejects.toEqual(failed);
    const corruptMarker = s.j2kRgb.slice();
    corruptMarker.set([0xff, 0x99], 4 + 0x2f); // the marker after SIZ (COD) becomes an unknown one
    await expect(displayOf(corruptMarker)).rejects.toEqual(failed);
    const huge = s.j2kRgb.slice();
    new DataView(huge.buffer).setUint32(8, 60_000);
    await expect(displayOf(huge)).rejects.toEqual(failed);
    await expect(displayOf(s.jpeg.subarray(0, 200))).rejects.toEqual(failed);
    await expect(displayOf(s.png)).rejects.toEqual(failed);
    await expect(displayOf(Uint8Array.of(1, 2, 3))).rejects.toEqual(failed);
    await expect(displayOf(new Uint8Array(0))).rejects.toEqual(failed);
  });
});

async function onlyDecodeFailures(bytes: Uint8Array): Promise<void> {
  for (const decode of [() => displayOf(bytes), () => decodeImage(bytes, 'fuzz', 'IMAGE_DECODE_FAILED', FUZZ_LIMITS)]) {
    try {
      await decode();
    } catch (err) {
      if (!isKioskError(err, 'IMAGE_DECODE_FAILED')) throw err;
    }
  }
}

describe('image properties', () => {
  it(`fuzz: decodePortrait and decodeImage on mutated J2K, JP2, JPEG and PNG and on random data after each magic give only IMAGE_DECODE_FAILED (${IMAGE_FUZZ_RUNS} runs each)`, async () => {
    for (const valid of [s.j2kRgb, s.jp2Rgb, s.jpeg, s.png]) {
      await fc.assert(fc.asyncProperty(mutationsOf(valid), onlyDecodeFailures), { numRuns: IMAGE_FUZZ_RUNS, seed: SEED });
    }
    const magics = [Uint8Array.of(0xff, 0x4f, 0xff, 0x51), s.jp2Rgb.subarray(0, 12), Uint8Array.of(0xff, 0xd8, 0xff), s.png.subarray(0, 8)];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 200 }), (magic, rest) => onlyDecodeFailures(concatBytes(magic, rest))),
      { numRuns: IMAGE_FUZZ_RUNS, seed: SEED },
    );
  }, 240_000);
});
