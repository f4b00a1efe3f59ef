import { performance } from 'node:perf_hooks';
import { KioskError } from '@kiosk/common';
import type { RawImage } from '../image/raw-image.js';
import { FaceModels, fivePoints, type FaceBox, type HeadPose, type LoadFaceModelsOptions } from './face-models.js';
import { DEFAULT_FACE_SETTINGS, type FaceProfile, type FaceSettings } from './settings.js';

export const QUALITY_FLAGS = ['no-face', 'several-faces', 'too-small', 'blurred', 'eyes-closed', 'head-turned'] as const;
export type QualityFlag = (typeof QUALITY_FLAGS)[number];

/** Milliseconds per stage for one image. */
export interface StageTimings {
  detect: number;
  landmarks: number;
  embed: number;
  eyes: number;
  pose: number;
  total: number;
}

/** What one image yields. Holds the embedding: stays inside this module's callers' memory, never in a result. */
export interface FaceAnalysis {
  faces: number;
  box: FaceBox | undefined;
  flags: QualityFlag[];
  /** Probability of each eye being open, image-left first. */
  eyesOpen: [number, number] | undefined;
  pose: HeadPose | undefined;
  sharpness: number | undefined;
  embedding: Float32Array | undefined;
  timings: StageTimings;
}

export type MatchDecision = 'accepted' | 'rejected' | 'retry';

/**
 * The outcome of one match, the only face data that leaves the engine (into a transaction or a log): decision,
 * score, the models used, quality flags and timings. No pixels, no embeddings, no landmarks, no boxes.
 */
export interface FaceMatchResult {
  decision: MatchDecision;
  /** Best cosine similarity over the usable live frames; null when none was usable. */
  score: number | null;
  threshold: number;
  profile: FaceProfile;
  models: { detect: string; landmark: string; feature: string; eye: string; pose: string };
  quality: { reference: QualityFlag[]; live: QualityFlag[][] };
  /** Live frames that passed the quality checks and were compared. */
  usableFrames: number;
  /**
   * Passive anti-spoofing probability of a live face on the best frame, when enabled (face.liveness.passive).
   * UNVALIDATED: no spoof data exists to check it, so it is recorded and never changes the decision.
   */
  passiveLiveness?: { score: number; model: string; validated: false };
  timings: { reference: StageTimings; live: StageTimings[]; totalMs: number };
}

/** Flags that make a live frame unusable for matching (the chip photo only needs a face). */
const BLOCKING: readonly QualityFlag[] = QUALITY_FLAGS;

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`embeddings of different lengths (${a.length}, ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(na * nb) || 1);
}

/** Detection, landmarks, alignment, embedding and quality checks over the verified models. */
export class FaceEngine {
  private constructor(
    readonly models: FaceModels,
    readonly settings: FaceSettings,
  ) {}

  static async create(settings: Partial<FaceSettings> = {}, options: Omit<LoadFaceModelsOptions, 'threads'> = {}): Promise<FaceEngine> {
    const merged = { ...DEFAULT_FACE_SETTINGS, ...settings };
    return new FaceEngine(await FaceModels.load({ ...options, manifest: options.manifest ?? (merged.manifest || undefined), threads: merged.threads }), merged);
  }

  release(): Promise<void> {
    return this.models.release();
  }

  /**
   * One image through the pipeline. `checks` false skips the eye and pose models (the chip photo, or a frame
   * where only the embedding matters).
   */
  async analyse(image: RawImage, checks = true): Promise<FaceAnalysis> {
    const s = this.settings;
    const start = performance.now();
    const timings: StageTimings = { detect: 0, landmarks: 0, embed: 0, eyes: 0, pose: 0, total: 0 };
    const lap = (stage: keyof StageTimings, since: number): number => {
      const now = performance.now();
      timings[stage] = now - since;
      return now;
    };
    const boxes = await this.models.detect(image, s.detectScore);
    let t = lap('detect', start);
    const flags: QualityFlag[] = [];
    const box = boxes[0];
    const result: FaceAnalysis = { faces: boxes.length, box, flags, eyesOpen: undefined, pose: undefined, sharpness: undefined, embedding: undefined, timings };
    if (!box) {
      flags.push('no-face');
      timings.total = performance.now() - start;
      return result;
    }
    if (boxes.slice(1).some((b) => Math.min(b.width, b.height) >= s.minFaceSize)) flags.push('several-faces');
    if (Math.min(box.width, box.height) < s.minFaceSize) flags.push('too-small');
    const points = await this.models.landmarks(image, box);
    t = lap('landmarks', t);
    const { embedding, sharpness } = await this.models.embed(image, fivePoints(points));
    result.embedding = embedding;
    result.sharpness = sharpness;
    if (sharpness < s.minSharpness) flags.push('blurred');
    t = lap('embed', t);
    if (checks) {
      result.eyesOpen = await this.models.eyesOpen(image, points);
      if (Math.max(...result.eyesOpen) < s.eyeOpenMin) flags.push('eyes-closed');
      t = lap('eyes', t);
      result.pose = await this.models.pose(image, box);
      if (Math.abs(result.pose.yaw) > s.maxYaw || Math.abs(result.pose.pitch) > s.maxPitch) flags.push('head-turned');
      lap('pose', t);
    }
    timings.total = performance.now() - start;
    return result;
  }

  /**
   * The chip photo against live frames: the best cosine similarity among the frames that pass every quality check,
   * accepted at or above the profile's threshold; `retry` when no frame is usable. FACE_NOT_FOUND when the chip
   * photo has no face.
   */
  async match(reference: RawImage, live: readonly RawImage[], profile: FaceProfile = 'hospital'): Promise<FaceMatchResult> {
    const start = performance.now();
    const threshold = this.settings.thresholds[profile];
    const ref = await this.analyse(reference, false);
    if (!ref.embedding) throw new KioskError('FACE_NOT_FOUND', 'no face found in the reference (chip) photo', { details: { flags: ref.flags } });
    let best: number | null = null;
    let bestFrame: { image: RawImage; box: FaceBox } | undefined;
    let usable = 0;
    const analyses: FaceAnalysis[] = [];
    for (const frame of live) {
      const a = await this.analyse(frame);
      analyses.push(a);
      if (!a.embedding || a.flags.some((f) => BLOCKING.includes(f))) continue;
      usable++;
      const score = cosineSimilarity(ref.embedding, a.embedding);
      if (best === null || score > best) {
        best = score;
        bestFrame = { image: frame, box: a.box! };
      }
    }
    // Class 0 is what the package's own code reports as "live"; see docs/face.md.
    const passive = this.settings.passiveLiveness && bestFrame ? (await this.models.passiveLiveness(bestFrame.image, bestFrame.box))[0]! : undefined;
    const decision: MatchDecision = best === null ? 'retry' : best >= threshold ? 'accepted' : 'rejected';
    const ids = this.models.ids;
    return {
      decision,
      score: best,
      threshold,
      profile,
      models: { detect: ids.detect, landmark: ids.landmark, feature: ids.feature, eye: ids.eye, pose: ids.pose },
      quality: { reference: ref.flags, live: analyses.map((a) => a.flags) },
      usableFrames: usable,
      ...(passive === undefined ? {} : { passiveLiveness: { score: passive, model: ids.liveness, validated: false as const } }),
      timings: { reference: ref.timings, live: analyses.map((a) => a.timings), totalMs: performance.now() - start },
    };
  }
}
