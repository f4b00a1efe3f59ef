import { KioskError } from '@kiosk/common';
import type { RawImage } from '../../image/raw-image.js';
import type { Rect } from '../../image/raw-image.js';
import { boxBlur3, crop, halve, toGray, type GrayImage } from './gray-image.js';
import type { DecodedQr, DecoderName, Point, QrDecoder } from './decoder.js';
import { JsqrDecoder } from './jsqr.js';
import { ZxingJsDecoder } from './zxing-js.js';
import { ZxingWasmDecoder } from './zxing-wasm.js';

/** One attempt of the cascade: an image transform, then a decoder. */
export interface PipelineStep {
  name: string;
  /** Pixels of the transformed image per pixel of the input (1/2 after halving), to map positions back. */
  scale: number;
  prepare: (image: GrayImage) => GrayImage;
  decoder: DecoderName;
  tryHarder?: boolean;
  /** Skip the step on images with fewer columns (halving a small crop loses the modules). */
  minWidth?: number;
  /** Skip the step on larger images (jsQR costs ~0.6 s on a full 1280x720 frame). */
  maxPixels?: number;
}

const same = (image: GrayImage): GrayImage => image;

/**
 * The order measured best on the hard-frame corpus (docs/qr.md): the cheap attempt first, harder ones only when
 * it fails. Halving first costs ~3.5 ms and reads most frames with modules of 4+ px; the full frame reads 3 px
 * modules; the 3x3 box filter reads low-contrast noisy frames; the other decoders catch a few the rest miss.
 */
export const DEFAULT_STEPS: readonly PipelineStep[] = [
  { name: 'half', scale: 0.5, prepare: halve, decoder: 'zxing-wasm', minWidth: 640 },
  { name: 'full', scale: 1, prepare: same, decoder: 'zxing-wasm' },
  { name: 'denoise', scale: 1, prepare: boxBlur3, decoder: 'zxing-wasm', tryHarder: true },
  { name: 'denoise-more', scale: 1, prepare: (g) => boxBlur3(boxBlur3(g)), decoder: 'zxing-wasm' },
  { name: 'zxing-js-denoise', scale: 1, prepare: boxBlur3, decoder: 'zxing-js', tryHarder: true },
  { name: 'jsqr-region', scale: 1, prepare: boxBlur3, decoder: 'jsqr', maxPixels: 400 * 400 },
];

export interface PipelineOptions {
  steps?: readonly PipelineStep[];
  /** Decoder instances to use (default: one of each). */
  decoders?: Partial<Record<DecoderName, QrDecoder>>;
  /**
   * Time per frame (ms): a further step starts only if its measured cost still fits; the next frame resumes the
   * cascade where this one stopped, so a camera stream keeps its frame rate and still gets every step. The core
   * steps always run. Default: no limit (single images).
   */
  budgetMs?: number;
  /**
   * How many of the first steps run on every frame whatever the budget, in the remembered region and in the whole
   * frame (default 2: halved and full frame with zxing-wasm, so a stream never reads less than zxing-wasm alone).
   */
  coreSteps?: number;
  /** Look first where the last code was, with this margin around it (fraction of its size; default 0.6); 0 = off. */
  regionMargin?: number;
  /** Frames without a code after which the remembered region is forgotten (default 10). */
  regionFrames?: number;
}

export interface PipelineResult extends DecodedQr {
  /** The step that read the code. */
  step: string;
  /** Whether it was read inside the remembered region of interest. */
  inRegion: boolean;
}

interface Attempt {
  region: Rect | undefined;
  step: PipelineStep;
  core: boolean;
}

function boundingBox(points: readonly Point[], margin: number, image: GrayImage): Rect | undefined {
  if (points.length < 3) return undefined;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const size = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const pad = Math.max(32, size * margin);
  const x = Math.max(0, Math.min(...xs) - pad);
  const y = Math.max(0, Math.min(...ys) - pad);
  const rect = { x, y, width: Math.min(image.width, Math.max(...xs) + pad) - x, height: Math.min(image.height, Math.max(...ys) + pad) - y };
  return rect.width > 0 && rect.height > 0 ? rect : undefined;
}

/**
 * Camera frames in, QR text out: grayscale, region of interest, downscale when useful, harder attempts only after
 * the cheap ones fail. Every decoder it runs returns only complete symbols whose Reed-Solomon check passed, so a
 * partial or damaged code yields nothing, never a guess.
 */
export class QrFramePipeline {
  private readonly steps: readonly PipelineStep[];
  private readonly decoders: Record<DecoderName, QrDecoder>;
  private readonly budgetMs: number;
  private readonly regionMargin: number;
  private readonly regionFrames: number;
  private region: { points: Point[]; misses: number } | undefined;
  private resumeAt = 0;
  private starved = false;
  private readonly coreSteps: number;
  private readonly cost = new Map<string, number>();

  constructor(options: PipelineOptions = {}) {
    this.steps = options.steps ?? DEFAULT_STEPS;
    if (this.steps.length === 0) throw new KioskError('CONFIG_INVALID', 'QR pipeline: at least one step is needed');
    this.decoders = {
      'zxing-wasm': options.decoders?.['zxing-wasm'] ?? new ZxingWasmDecoder(),
      'zxing-js': options.decoders?.['zxing-js'] ?? new ZxingJsDecoder(),
      jsqr: options.decoders?.jsqr ?? new JsqrDecoder(),
    };
    this.budgetMs = options.budgetMs ?? Number.POSITIVE_INFINITY;
    this.coreSteps = options.coreSteps ?? 2;
    this.regionMargin = options.regionMargin ?? 0.6;
    this.regionFrames = options.regionFrames ?? 10;
  }

  /** Forgets the remembered region and where the cascade stopped (a new scene, another camera). */
  reset(): void {
    this.region = undefined;
    this.resumeAt = 0;
    this.starved = false;
  }

  async decode(frame: RawImage): Promise<PipelineResult | undefined> {
    const started = performance.now();
    const gray = toGray(frame);
    const attempts = this.attempts(gray);
    // Core attempts (the first steps, in the remembered region and in the whole frame) always run; the others start
    // where the last frame's budget ran out and go on while each is expected (by its measured cost) to end within
    // the budget, so on a still scene every step gets its turn.
    const core = attempts.filter((a) => a.core);
    const extras = attempts.filter((a) => !a.core);
    const from = Math.min(this.resumeAt, extras.length);
    let extrasRun = 0;
    for (const attempt of [...core, ...extras.slice(from)]) {
      if (!attempt.core) {
        // After a frame that could afford no further step, the resumed one runs anyway: the cascade always advances.
        const forced = this.starved && extrasRun === 0;
        if (!forced && performance.now() - started + (this.cost.get(attempt.step.name) ?? 0) > this.budgetMs) {
          this.resumeAt = from + extrasRun;
          this.starved = extrasRun === 0;
          this.missed();
          return undefined;
        }
        extrasRun++;
      }
      const stepStarted = performance.now();
      const result = await this.run(gray, attempt);
      this.recordCost(attempt.step.name, performance.now() - stepStarted);
      if (result) {
        this.region = { points: result.points, misses: 0 };
        this.resumeAt = 0;
        this.starved = false;
        return result;
      }
    }
    this.resumeAt = 0;
    this.starved = false;
    this.missed();
    return undefined;
  }

  /** Moving average of each step's duration, for the budget decision. */
  private recordCost(step: string, ms: number): void {
    const previous = this.cost.get(step);
    this.cost.set(step, previous === undefined ? ms : 0.8 * previous + 0.2 * ms);
  }

  private missed(): void {
    if (this.region && ++this.region.misses >= this.regionFrames) this.region = undefined;
  }

  private attempts(gray: GrayImage): Attempt[] {
    const region = this.region && this.regionMargin > 0 ? boundingBox(this.region.points, this.regionMargin, gray) : undefined;
    const regions = region ? [region, undefined] : [undefined];
    return regions.flatMap((r) => {
      const width = r ? r.width : gray.width;
      const pixels = r ? r.width * r.height : gray.width * gray.height;
      return this.steps
        .map((step, index) => ({ region: r, step, core: index < this.coreSteps }))
        .filter(({ step }) => width >= (step.minWidth ?? 0) && pixels <= (step.maxPixels ?? Infinity));
    });
  }

  private async run(gray: GrayImage, { region, step }: Attempt): Promise<PipelineResult | undefined> {
    const input = region ? crop(gray, region) : gray;
    const found = await this.decoders[step.decoder].decode(step.prepare(input), { tryHarder: step.tryHarder ?? false });
    if (!found) return undefined;
    const points = found.points.map((p) => ({ x: p.x / step.scale + (region?.x ?? 0), y: p.y / step.scale + (region?.y ?? 0) }));
    return { ...found, points, step: step.name, inRegion: region !== undefined };
  }
}
