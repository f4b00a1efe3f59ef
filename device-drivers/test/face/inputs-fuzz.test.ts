import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { decodeFacePhoto } from '../../src/face/face-image.js';
import { DEFAULT_FACE_MANIFEST, readFaceManifest } from '../../src/face/manifest.js';

let jpeg: Uint8Array;
let dir: string;
let manifestText: string;
beforeAll(async () => {
  const pixels = Uint8Array.from({ length: 48 * 64 * 3 }, (_, i) => (i * 31) & 0xff);
  jpeg = new Uint8Array(await sharp(pixels, { raw: { width: 48, height: 64, channels: 3 } }).jpeg({ quality: 70 }).toBuffer());
  dir = await mkdtemp(join(tmpdir(), 'face-fuzz-'));
  manifestText = await readFile(DEFAULT_FACE_MANIFEST, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const typedOnly = (code: string) => (err: unknown) => {
  if (!isKioskError(err) || !err.code.startsWith(code)) throw err;
};

describe('face inputs under fuzzing', () => {
  it('decodeFacePhoto: truncated or byte-flipped JPEGs and random bytes give pixels or FACE_IMAGE_UNREADABLE, nothing else (150 fast-check cases)', async () => {
    const mutated = fc.oneof(
      fc.integer({ min: 0, max: 2000 }).map((n) => jpeg.slice(0, n)),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => {
        const copy = jpeg.slice();
        for (const [at, x] of flips) copy[at % copy.length] = copy[at % copy.length]! ^ x;
        return copy;
      }),
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((tail) => Uint8Array.from([0xff, 0x4f, 0xff, 0x51, ...tail])),
    );
    await fc.assert(
      fc.asyncProperty(mutated, async (bytes) => {
        await decodeFacePhoto(bytes, 'fuzz').then((image) => expect(image.data.length).toBe(image.width * image.height * image.channels), typedOnly('FACE_IMAGE_UNREADABLE'));
      }),
      { numRuns: 150 },
    );
  });

  it('readFaceManifest: a manifest with random bytes changed is refused with a FACE_MODEL_* error or loads unchanged models (60 fast-check cases)', async () => {
    const path = join(dir, 'fuzz.json');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 32, max: 126 })), { minLength: 1, maxLength: 4 }), async (edits) => {
        const chars = [...manifestText];
        for (const [at, code] of edits) chars[at % chars.length] = String.fromCharCode(code);
        await writeFile(path, chars.join(''));
        await readFaceManifest(path).then((models) => expect(Object.keys(models)).toHaveLength(6), typedOnly('FACE_MODEL_'));
      }),
      { numRuns: 60 },
    );
  });
});
