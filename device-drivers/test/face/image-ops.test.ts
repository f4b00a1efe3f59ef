import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iou, nonMaxSuppression } from '../../src/face/face-models.js';
import { cropResize, laplacianVariance, sampleAffine, softmax, toGrey } from '../../src/face/image-ops.js';

describe('image operations', () => {
  it('an identity crop reproduces the pixels; grey images give R = G = B', () => {
    const data = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) & 0xff);
    const patch = cropResize({ width: 4, height: 3, channels: 3, data }, { x: 0, y: 0, width: 4, height: 3 }, 4, 3);
    expect(Array.from(patch.rgb)).toEqual(Array.from(data));
    const grey = sampleAffine({ width: 2, height: 1, channels: 1, data: Uint8Array.of(10, 200) }, 2, 1, [1, 0, 0, 0, 1, 0]);
    expect(Array.from(grey.rgb)).toEqual([10, 10, 10, 200, 200, 200]);
  });

  it('samples outside the image are black and a half-pixel shift interpolates', () => {
    const image = { width: 2, height: 1, channels: 1 as const, data: Uint8Array.of(100, 200) };
    expect(Array.from(sampleAffine(image, 1, 1, [1, 0, 5, 0, 1, 0]).rgb)).toEqual([0, 0, 0]);
    expect(sampleAffine(image, 1, 1, [1, 0, 0.5, 0, 1, 0]).rgb[0]).toBeCloseTo(150, 5);
  });

  it('Laplacian variance: 0 on a flat image, high on a checkerboard, lower after blurring it', () => {
    const n = 32;
    const flat = new Float32Array(n * n).fill(128);
    const checker = Float32Array.from({ length: n * n }, (_, i) => (((i % n) + Math.floor(i / n)) % 2 ? 255 : 0));
    const blurred = checker.map((_, i) => {
      const x = i % n;
      const y = Math.floor(i / n);
      if (x === 0 || y === 0 || x === n - 1 || y === n - 1) return 128;
      return (checker[i - 1]! + checker[i + 1]! + checker[i]! * 2) / 4;
    });
    expect(laplacianVariance(flat, n, n)).toBe(0);
    expect(laplacianVariance(checker, n, n)).toBeGreaterThan(100 * laplacianVariance(blurred, n, n));
    expect(toGrey({ width: 1, height: 1, rgb: Float32Array.of(255, 255, 255) })[0]).toBeCloseTo(255, 3);
  });

  it('softmax sums to 1 and keeps the order (200 fast-check cases)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 70 }), (logits) => {
        const p = softmax(logits);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        const top = logits.indexOf(Math.max(...logits));
        expect(p[top]).toBe(Math.max(...p));
      }),
      { numRuns: 200 },
    );
  });

  it('NMS keeps the best of overlapping boxes and every separate one', () => {
    const a = { x: 0, y: 0, width: 10, height: 10, score: 0.9 };
    const b = { x: 1, y: 1, width: 10, height: 10, score: 0.95 };
    const c = { x: 50, y: 50, width: 10, height: 10, score: 0.8 };
    expect(iou(a, a)).toBe(1);
    expect(iou(a, c)).toBe(0);
    expect(nonMaxSuppression([a, b, c], 0.3)).toEqual([b, c]);
  });
});
