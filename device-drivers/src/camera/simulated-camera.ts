import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { KioskError } from '@kiosk/common';
import { Camera, type CameraFrame } from './camera.js';
import { assertRawImage, readImageFile, type RawImage } from '../image/index.js';

/** Extensions taken from a directory source (sharp decodes them all). */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif']);

export interface SimulatedCameraOptions {
  /** A directory (its image files in name order), a list of image files, or images already in memory. */
  source: string | readonly string[] | readonly RawImage[];
  /** Frames per second (default 15). */
  fps?: number;
  /** Start again after the last image (default true); false stops after it ('stopped'). */
  loop?: boolean;
  name?: string;
}

function startFailed(message: string, cause?: unknown): KioskError {
  return new KioskError('CAMERA_START_FAILED', `simulated camera: ${message}`, { cause, details: { device: 'camera' } });
}

async function listImages(source: string | readonly string[]): Promise<string[]> {
  if (typeof source !== 'string') return [...source];
  try {
    if (!(await stat(source)).isDirectory()) return [source];
    return (await readdir(source)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort().map((f) => join(source, f));
  } catch (cause) {
    throw startFailed(`cannot read ${source}: ${(cause as Error).message}`, cause);
  }
}

/**
 * A camera without hardware: plays a sequence of images as frames at a fixed rate, each frame stamped and
 * numbered as a real capture would be. Images are decoded once at start() (sharp), so playback costs no decoding.
 * Frames are due at start + n / fps; a late timer does not shift the ones after it.
 */
export class SimulatedCamera extends Camera {
  readonly name: string;
  private readonly options: SimulatedCameraOptions;
  private readonly periodMs: number;
  private images: RawImage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private startedAt = 0;
  private active = false;

  constructor(options: SimulatedCameraOptions) {
    super();
    const fps = options.fps ?? 15;
    if (!(fps > 0 && fps <= 1000)) throw new KioskError('CONFIG_INVALID', 'simulated camera: fps must be in (0, 1000]', { details: { fps } });
    this.options = options;
    this.periodMs = 1000 / fps;
    this.name = options.name ?? 'simulated-camera';
  }

  get running(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    if (this.active) return;
    this.images = await this.load();
    this.active = true;
    this.sequence = 0;
    this.startedAt = performance.now();
    this.emit('started');
    this.schedule();
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.emit('stopped');
  }

  private async load(): Promise<RawImage[]> {
    const { source } = this.options;
    let images: RawImage[];
    if (typeof source !== 'string' && source.length > 0 && typeof source[0] !== 'string') {
      images = [...(source as readonly RawImage[])];
      images.forEach((image) => assertRawImage(image, 'CAMERA_FRAME_INVALID'));
    } else {
      const files = await listImages(source as string | readonly string[]);
      images = [];
      for (const file of files) images.push(await readImageFile(file, 'CAMERA_START_FAILED'));
    }
    if (images.length === 0) throw startFailed('the source holds no images');
    return images;
  }

  private schedule(): void {
    const due = this.startedAt + this.sequence * this.periodMs;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()));
  }

  private tick(): void {
    if (!this.active) return;
    const count = this.images.length;
    if (this.options.loop === false && this.sequence >= count) {
      void this.stop();
      return;
    }
    const image = this.images[this.sequence % count]!;
    const frame: CameraFrame = { ...image, timestamp: performance.timeOrigin + performance.now(), sequence: this.sequence };
    this.sequence++;
    this.schedule();
    this.emit('frame', frame);
  }
}
