import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import type { RawImage } from '../../src/image/raw-image.js';
import { FaceEngine } from '../../src/face/engine.js';
import type { Point } from '../../src/face/align.js';

let engine: FaceEngine;
beforeAll(async () => {
  engine = await FaceEngine.create();
});
afterAll(async () => {
  await engine.release();
});

const blank = (width: number, height: number, channels: 1 | 3 = 3, value = 128): RawImage => ({ width, height, channels, data: new Uint8Array(width * height * channels).fill(value) });

/** A grey image with a dark pupil-sized disc at each given centre, and the 68 points that put eyes there. */
function eyesImage(discs: boolean): { image: RawImage; points: Point[] } {
  const image = blank(200, 200, 1, 180);
  const centres = [{ x: 70, y: 90 }, { x: 130, y: 90 }];
  if (discs) {
    for (const c of centres) {
      for (let y = -5; y <= 5; y++) for (let x = -5; x <= 5; x++) if (x * x + y * y <= 25) image.data[(c.y + y) * 200 + c.x + x] = 30;
    }
  }
  const points: Point[] = Array.from({ length: 68 }, () => ({ x: 100, y: 100 }));
  // Six points per eye (36-41, 42-47): corners 12 px left and right of the centre, lids 4 px above and below.
  centres.forEach((c, k) => {
    const base = 36 + 6 * k;
    const ring = [[-12, 0], [-4, -4], [4, -4], [12, 0], [4, 4], [-4, 4]];
    ring.forEach(([dx, dy], i) => (points[base + i] = { x: c.x + dx!, y: c.y + dy! }));
  });
  return { image, points };
}

describe('face engine on synthetic images', () => {
  it('an empty frame is flagged no-face and yields no embedding', async () => {
    const analysis = await engine.analyse(blank(1280, 720));
    expect(analysis.flags).toEqual(['no-face']);
    expect(analysis.embedding).toBeUndefined();
    expect(analysis.timings.total).toBeGreaterThan(0);
  });

  it('a chip photo without a face is FACE_NOT_FOUND', async () => {
    await expect(engine.match(blank(360, 480), [blank(1280, 720)])).rejects.toSatisfy((e: unknown) => isKioskError(e, 'FACE_NOT_FOUND'));
  });

  it('the eye model reads a dark pupil as open and a flat lid as closed (class order checked)', async () => {
    const open = eyesImage(true);
    const closed = eyesImage(false);
    const [l1, r1] = await engine.models.eyesOpen(open.image, open.points);
    const [l0, r0] = await engine.models.eyesOpen(closed.image, closed.points);
    expect(Math.min(l1, r1)).toBeGreaterThan(0.5);
    expect(Math.max(l0, r0)).toBeLessThan(0.5);
  });

  it('reports the ids of the models it loaded from the manifest', () => {
    expect(engine.models.ids.feature).toBe('faceplugin-fr_feature-0.0.1');
  });
});
