import { KioskError } from '@kiosk/common';
import ort from 'onnxruntime-node';
import type { RawImage, Rect } from '../image/raw-image.js';
import { ARCFACE_TEMPLATE, fitSimilarity, inverseAffine, type Point } from './align.js';
import { cropResize, laplacianVariance, sampleAffine, softmax, toChw, toGrey } from './image-ops.js';
import { DEFAULT_FACE_MANIFEST, MODEL_ROLES, readFaceManifest, type ModelRole, type VerifiedModel } from './manifest.js';

export interface FaceBox extends Rect {
  score: number;
}

export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

export interface LoadFaceModelsOptions {
  /** Model manifest; default the one shipped in device-drivers/models. */
  manifest?: string;
  /** onnxruntime intra-op threads per session; default 1 (the kiosk has other work for its cores). */
  threads?: number;
}

const DETECT_SIZE = { width: 320, height: 240 } as const;
/** The inner face of the aligned 112x112 crop (eyes, nose, mouth). */
const SHARPNESS_REGION = { x: 28, y: 40, width: 56, height: 60 } as const;
const HALF: readonly [number, number, number] = [127, 127, 127];
const SCALE: readonly [number, number, number] = [128, 128, 128];

/** The six ONNX sessions, verified against the manifest, with each model's pre- and post-processing. */
export class FaceModels {
  private constructor(
    private readonly sessions: Record<ModelRole, ort.InferenceSession>,
    /** Model ids by role, for the match result. */
    readonly ids: Readonly<Record<ModelRole, string>>,
  ) {}

  /** Throws FACE_MODEL_MISSING / FACE_MODEL_TAMPERED / FACE_MODEL_INVALID: meant to run at start-up. */
  static async load(options: LoadFaceModelsOptions = {}): Promise<FaceModels> {
    const models = await readFaceManifest(options.manifest ?? DEFAULT_FACE_MANIFEST);
    const threads = options.threads ?? 1;
    const sessions = {} as Record<ModelRole, ort.InferenceSession>;
    const ids = {} as Record<ModelRole, string>;
    for (const role of MODEL_ROLES) {
      const model = models[role];
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      } catch (cause) {
        throw new KioskError('FACE_MODEL_INVALID', `face model "${role}" (${model.id}) is not a loadable ONNX model: ${(cause as Error).message}`, { cause, details: { role, id: model.id } });
      }
      checkSpec(session, model);
      sessions[role] = session;
      ids[role] = model.id;
    }
    return new FaceModels(sessions, ids);
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }

  private async run(role: ModelRole, data: Float32Array, dims: readonly number[]): Promise<Record<string, Float32Array>> {
    const session = this.sessions[role];
    const results = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, dims) });
    return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, tensor.data as Float32Array]));
  }

  /** Faces above `minScore`, after non-maximum suppression, largest first. */
  async detect(image: RawImage, minScore = 0.7, iouThreshold = 0.3): Promise<FaceBox[]> {
    const { width, height } = DETECT_SIZE;
    const input = toChw(cropResize(image, { x: 0, y: 0, width: image.width, height: image.height }, width, height), HALF, SCALE);
    const out = await this.run('detect', input, [1, 3, height, width]);
    const scores = out.scores!;
    const boxes = out.boxes!;
    const found: FaceBox[] = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const score = scores[i * 2 + 1]!;
      if (score < minScore) continue;
      const x1 = Math.max(0, boxes[i * 4]! * image.width);
      const y1 = Math.max(0, boxes[i * 4 + 1]! * image.height);
      const x2 = Math.min(image.width, boxes[i * 4 + 2]! * image.width);
      const y2 = Math.min(image.height, boxes[i * 4 + 3]! * image.height);
      if (x2 > x1 && y2 > y1) found.push({ x: x1, y: y1, width: x2 - x1, height: y2 - y1, score });
    }
    return nonMaxSuppression(found, iouThreshold).sort((a, b) => b.width * b.height - a.width * a.height);
  }

  /** 68 points (iBUG layout) in image coordinates. */
  async landmarks(image: RawImage, box: Rect): Promise<Point[]> {
    const input = toGrey(cropResize(image, box, 64, 64), 1 / 256);
    const out = (await this.run('landmark', input, [1, 1, 64, 64])).output!;
    const points: Point[] = [];
    for (let i = 0; i < 68; i++) points.push({ x: box.x + out[i * 2]! * box.width, y: box.y + out[i * 2 + 1]! * box.height });
    return points;
  }

  /**
   * The face warped onto the 112x112 ArcFace template by the least-squares similarity of the five points, its
   * L2-normalised 512-d embedding and the Laplacian variance of the aligned inner face (sharpness at a fixed scale).
   */
  async embed(image: RawImage, five: readonly Point[]): Promise<{ embedding: Float32Array; sharpness: number }> {
    const aligned = sampleAffine(image, 112, 112, inverseAffine(fitSimilarity(five, ARCFACE_TEMPLATE)));
    const raw = (await this.run('feature', toChw(aligned, HALF, SCALE), [1, 3, 112, 112])).output!;
    let norm = 0;
    for (const v of raw) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    // Eyes to mouth only: the template's margins may hold background or, at the image edge, black fill.
    return { embedding: raw.map((v) => v / norm), sharpness: laplacianVariance(toGrey(aligned), 112, 112, SHARPNESS_REGION) };
  }

  /** Probability that each eye is open (image-left eye first). */
  async eyesOpen(image: RawImage, points: readonly Point[]): Promise<[number, number]> {
    const one = async (first: number): Promise<number> => {
      const eye = points.slice(first, first + 6);
      const centre = { x: (eye[1]!.x + eye[2]!.x + eye[4]!.x + eye[5]!.x) / 4, y: (eye[1]!.y + eye[2]!.y + eye[4]!.y + eye[5]!.y) / 4 };
      const size = Math.max(2, Math.abs(eye[3]!.x - eye[0]!.x) * 1.6);
      const input = toGrey(cropResize(image, { x: centre.x - size / 2, y: centre.y - size / 2, width: size, height: size }, 24, 24), 1 / 255);
      // Class 0 is "closed": a flat patch or a thin line scores 0, a dark pupil-like blob 1 (checked in test/face).
      return softmax((await this.run('eye', input, [1, 1, 24, 24])).output!)[1]!;
    };
    return [await one(36), await one(42)];
  }

  /** Head pose in degrees (yaw: turn left/right, pitch: nod, roll: tilt). */
  async pose(image: RawImage, box: Rect): Promise<HeadPose> {
    const grown = { x: box.x - box.width / 4, y: box.y - box.height / 4, width: box.width * 1.5, height: box.height * 1.5 };
    const input = toChw(cropResize(image, grown, 224, 224), [0.485 * 255, 0.456 * 255, 0.406 * 255], [0.229 * 255, 0.224 * 255, 0.225 * 255]);
    const out = await this.run('pose', input, [1, 3, 224, 224]);
    const angle = (logits: Float32Array): number => softmax(logits).reduce((sum, p, i) => sum + p * i, 0) * 3 - 99;
    return { yaw: angle(out.output!), pitch: angle(out['617']!), roll: angle(out['618']!) };
  }

  /** Passive anti-spoofing class probabilities (UNVALIDATED, see docs/face.md). */
  async passiveLiveness(image: RawImage, box: Rect): Promise<number[]> {
    const scale = Math.min(2.7, (image.width - 1) / box.width, (image.height - 1) / box.height);
    const w = box.width * scale;
    const h = box.height * scale;
    const x = Math.min(Math.max(0, box.x + box.width / 2 - w / 2), image.width - w);
    const y = Math.min(Math.max(0, box.y + box.height / 2 - h / 2), image.height - h);
    const input = toChw(cropResize(image, { x, y, width: w, height: h }, 128, 128), [0, 0, 0], [1, 1, 1]);
    return softmax((await this.run('liveness', input, [1, 3, 128, 128])).output!);
  }
}

/** The five alignment points from the 68: eye centres, nose tip, mouth corners (mean of outer and inner lip). */
export function fivePoints(p: readonly Point[]): Point[] {
  const mean = (...idx: number[]): Point => ({ x: idx.reduce((s, i) => s + p[i]!.x, 0) / idx.length, y: idx.reduce((s, i) => s + p[i]!.y, 0) / idx.length });
  return [mean(37, 38, 40, 41), mean(43, 44, 46, 47), mean(30), mean(48, 60), mean(54, 64)];
}

export function iou(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Greedy NMS: keeps the best-scoring box of every group overlapping more than `threshold`. */
export function nonMaxSuppression(boxes: readonly FaceBox[], threshold: number): FaceBox[] {
  const kept: FaceBox[] = [];
  for (const box of [...boxes].sort((a, b) => b.score - a.score)) {
    if (kept.every((k) => iou(k, box) <= threshold)) kept.push(box);
  }
  return kept;
}

function checkSpec(session: ort.InferenceSession, model: VerifiedModel): void {
  const mismatch = (what: string): KioskError =>
    new KioskError('FACE_MODEL_INVALID', `face model "${model.role}" (${model.id}) does not match its manifest: ${what}`, { details: { role: model.role, id: model.id } });
  const check = (declared: Record<string, number[]>, meta: readonly ort.InferenceSession.ValueMetadata[], kind: string): void => {
    const names = meta.map((m) => m.name);
    if (names.length !== Object.keys(declared).length || !Object.keys(declared).every((n) => names.includes(n))) {
      throw mismatch(`${kind}s are ${names.join(', ')}, the manifest declares ${Object.keys(declared).join(', ')}`);
    }
    for (const m of meta) {
      const actual = m.isTensor ? m.shape.map(String).join('x') : '?';
      const expected = declared[m.name]!.join('x');
      if (actual !== expected) throw mismatch(`${kind} ${m.name} has shape ${actual}, the manifest declares ${expected}`);
    }
  };
  check(model.inputs, session.inputMetadata, 'input');
  check(model.outputs, session.outputMetadata, 'output');
}
