import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARCFACE_TEMPLATE, applySimilarity, fitSimilarity, inverseAffine, type Similarity } from '../../src/face/align.js';

const similarity = fc.record({
  scale: fc.double({ min: 0.05, max: 20, noNaN: true }),
  angle: fc.double({ min: -3, max: 3, noNaN: true }),
  tx: fc.double({ min: -2000, max: 2000, noNaN: true }),
  ty: fc.double({ min: -2000, max: 2000, noNaN: true }),
});

describe('least-squares similarity (Umeyama, 2-D)', () => {
  it('recovers a known similarity from the five template points exactly (300 fast-check cases)', () => {
    fc.assert(
      fc.property(similarity, (t: Similarity) => {
        const src = ARCFACE_TEMPLATE.map((p) => applySimilarity(t, p));
        // Fit image points back onto the template: the inverse of t.
        const fit = fitSimilarity(src, ARCFACE_TEMPLATE);
        for (const [i, p] of src.entries()) {
          const q = applySimilarity(fit, p);
          expect(q.x).toBeCloseTo(ARCFACE_TEMPLATE[i]!.x, 6);
          expect(q.y).toBeCloseTo(ARCFACE_TEMPLATE[i]!.y, 6);
        }
        expect(fit.scale).toBeCloseTo(1 / t.scale, 6);
      }),
      { numRuns: 300 },
    );
  });

  it('the sampler map is the inverse of the fitted transform (200 fast-check cases)', () => {
    fc.assert(
      fc.property(similarity, fc.double({ min: 0, max: 112, noNaN: true }), fc.double({ min: 0, max: 112, noNaN: true }), (t, u, v) => {
        const [a, b, c, d, e, f] = inverseAffine(t);
        const back = applySimilarity(t, { x: a * u + b * v + c, y: d * u + e * v + f });
        expect(back.x).toBeCloseTo(u, 5);
        expect(back.y).toBeCloseTo(v, 5);
      }),
      { numRuns: 200 },
    );
  });

  it('with noisy points it minimises the squared error: any nudge of the fit is no better (100 fast-check cases)', () => {
    fc.assert(
      fc.property(similarity, fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 10, maxLength: 10 }), (t, noise) => {
        const src = ARCFACE_TEMPLATE.map((p, i) => {
          const q = applySimilarity(t, p);
          return { x: q.x + noise[2 * i]!, y: q.y + noise[2 * i + 1]! };
        });
        const err = (s: Similarity): number => src.reduce((sum, p, i) => sum + (applySimilarity(s, p).x - ARCFACE_TEMPLATE[i]!.x) ** 2 + (applySimilarity(s, p).y - ARCFACE_TEMPLATE[i]!.y) ** 2, 0);
        const fit = fitSimilarity(src, ARCFACE_TEMPLATE);
        const best = err(fit);
        for (const nudge of [{ scale: fit.scale * 1.001 }, { angle: fit.angle + 1e-3 }, { tx: fit.tx + 0.01 }, { ty: fit.ty - 0.01 }]) {
          expect(err({ ...fit, ...nudge })).toBeGreaterThanOrEqual(best - 1e-9);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses coincident or unequal point lists', () => {
    expect(() => fitSimilarity([{ x: 1, y: 1 }, { x: 1, y: 1 }], ARCFACE_TEMPLATE.slice(0, 2))).toThrow(RangeError);
    expect(() => fitSimilarity(ARCFACE_TEMPLATE, ARCFACE_TEMPLATE.slice(0, 3))).toThrow(RangeError);
  });
});
