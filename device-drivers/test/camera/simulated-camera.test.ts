import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedCamera, type CameraFrame } from '../../src/camera/index.js';

const grey = (value: number) => ({ width: 4, height: 3, channels: 1 as const, data: new Uint8Array(12).fill(value) });

function collect(camera: SimulatedCamera, count: number): Promise<CameraFrame[]> {
  const frames: CameraFrame[] = [];
  return new Promise((resolve) => {
    camera.on('frame', (f) => {
      frames.push(f);
      if (frames.length === count) resolve(frames);
    });
  });
}

const cameras: SimulatedCamera[] = [];
afterEach(async () => {
  await Promise.all(cameras.splice(0).map((c) => c.stop()));
});

function camera(options: ConstructorParameters<typeof SimulatedCamera>[0]): SimulatedCamera {
  const c = new SimulatedCamera(options);
  cameras.push(c);
  return c;
}

describe('SimulatedCamera', () => {
  it('plays images in order as numbered, time-stamped frames and loops', async () => {
    const cam = camera({ source: [grey(1), grey(2), grey(3)], fps: 200 });
    const got = collect(cam, 7);
    await cam.start();
    const frames = await got;
    expect(frames.map((f) => f.data[0])).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(frames.map((f) => f.sequence)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.timestamp).toBeGreaterThan(frames[i - 1]!.timestamp);
    expect(frames[0]).toMatchObject({ width: 4, height: 3, channels: 1 });
  });

  it('without loop, stops after the last image and says so', async () => {
    const cam = camera({ source: [grey(1), grey(2)], fps: 200, loop: false });
    const frames: CameraFrame[] = [];
    cam.on('frame', (f) => frames.push(f));
    const stopped = new Promise<void>((resolve) => cam.once('stopped', () => resolve()));
    await cam.start();
    await stopped;
    expect(frames.map((f) => f.data[0])).toEqual([1, 2]);
    expect(cam.running).toBe(false);
  });

  it('decodes a directory of image files in name order (sharp)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiosk-camera-'));
    try {
      for (const [name, value] of [['b.png', 20], ['a.png', 10], ['c.jpg', 30]] as const) {
        await writeFile(join(dir, name), await sharp(Buffer.alloc(16 * 8 * 3, value), { raw: { width: 16, height: 8, channels: 3 } }).toFormat(name.endsWith('png') ? 'png' : 'jpeg').toBuffer());
      }
      await writeFile(join(dir, 'notes.txt'), 'not an image');
      const cam = camera({ source: dir, fps: 100, loop: false });
      const got = collect(cam, 3);
      await cam.start();
      const frames = await got;
      expect(frames.map((f) => [f.width, f.height, f.channels])).toEqual([[16, 8, 3], [16, 8, 3], [16, 8, 3]]);
      expect(frames.map((f) => Math.round(f.data[0]! / 10) * 10)).toEqual([10, 20, 30]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails to start on a missing, empty or unreadable source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiosk-camera-'));
    try {
      await expect(camera({ source: join(dir, 'missing') }).start()).rejects.toMatchObject({ code: 'CAMERA_START_FAILED' });
      await expect(camera({ source: dir }).start()).rejects.toMatchObject({ code: 'CAMERA_START_FAILED' });
      await writeFile(join(dir, 'broken.png'), 'not a png');
      await expect(camera({ source: dir }).start()).rejects.toMatchObject({ code: 'CAMERA_START_FAILED' });
      await expect(camera({ source: [{ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }] }).start()).rejects.toMatchObject({ code: 'CAMERA_FRAME_INVALID' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a frame rate outside (0, 1000]', () => {
    expect(() => new SimulatedCamera({ source: [grey(1)], fps: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
