import { describe, expect, it } from 'vitest';
import { DEFAULT_STEPS, QrFramePipeline, type PipelineStep } from '../../src/qr/index.js';
import { PERSONA_QR } from './persona.js';
import { blankImage, qrImage } from './qr-images.js';

const frame = (left: number, top: number, modulePx = 4) => qrImage(PERSONA_QR, { modulePx, canvas: { width: 1280, height: 720 }, left, top });

describe('QrFramePipeline', () => {
  it('reads a 1280x720 frame with the cheap halved attempt first', async () => {
    const found = await new QrFramePipeline().decode(frame(300, 100));
    expect(found?.text).toBe(PERSONA_QR);
    expect(found?.step).toBe('half');
    expect(found?.inRegion).toBe(false);
  });

  it('reports positions in frame coordinates and looks there first in the next frame', async () => {
    const pipeline = new QrFramePipeline();
    const first = await pipeline.decode(frame(700, 300));
    const xs = first!.points.map((p) => p.x);
    // Symbol 4 modules of quiet zone in from (700, 300): the corners lie inside the code's square.
    expect(Math.min(...xs)).toBeGreaterThan(700);
    expect(Math.max(...xs)).toBeLessThan(700 + (PERSONA_QR.length + 200) * 4);
    const second = await pipeline.decode(frame(710, 305));
    expect(second?.text).toBe(PERSONA_QR);
    expect(second?.inRegion).toBe(true);
  });

  it('forgets the region after the configured number of empty frames', async () => {
    const pipeline = new QrFramePipeline({ regionFrames: 2 });
    await pipeline.decode(frame(700, 300));
    await pipeline.decode(blankImage(1280, 720));
    await pipeline.decode(blankImage(1280, 720));
    expect((await pipeline.decode(frame(100, 100)))?.inRegion).toBe(false);
  });

  it('falls through to later steps when earlier ones fail', async () => {
    const never: PipelineStep = { name: 'never', scale: 1, prepare: () => ({ width: 8, height: 8, data: new Uint8Array(64).fill(255) }), decoder: 'zxing-wasm' };
    const full = DEFAULT_STEPS.find((s) => s.name === 'full')!;
    const found = await new QrFramePipeline({ steps: [never, full] }).decode(frame(50, 50, 3));
    expect(found?.step).toBe('full');
  });

  it('stops at the budget and resumes the cascade on the next frame', async () => {
    const tried: string[] = [];
    const steps = ['a', 'b', 'c'].map((name): PipelineStep => ({
      name,
      scale: 1,
      prepare: (g) => {
        tried.push(name);
        return { width: 8, height: 8, data: new Uint8Array(64).fill(g.data[0]!) };
      },
      decoder: 'zxing-wasm',
    }));
    const pipeline = new QrFramePipeline({ steps, budgetMs: 0, coreSteps: 1 });
    // Each frame runs the core step; a 0 ms budget lets no further step start, except that after a frame that
    // could afford none the resumed step runs anyway, so b and c still get their turns, then it starts over.
    for (let i = 0; i < 5; i++) await pipeline.decode(blankImage(64, 64));
    expect(tried).toEqual(['a', 'a', 'b', 'a', 'a', 'c', 'a']);
  });
});
