import { readdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { KioskError, isKioskError, type KioskConfig, type Logger } from '@kiosk/common';
import { SimulatedCamera, type Camera, type CameraFrame } from '@kiosk/device-drivers/camera';
import { FaceEngine, faceSettings, type FaceMatchResult, type FaceProfile } from '@kiosk/device-drivers/face';
import type { DecodedPortrait } from '@kiosk/device-drivers/image';
import type { FaceDecision } from '../shared/identity-api.js';

/** Live frames compared per check, and how long the camera gets to deliver them. */
export const FACE_FRAMES = 5;
export const FACE_TIMEOUT_MS = 10_000;

/**
 * What the transaction records of the face step: decision, score, threshold, model ids, timings. Flat and
 * image-free (the store's verdict rules); liveness is recorded as not performed (docs/kiosk-flow.md).
 */
export type FaceSummary = Record<string, string | number | null>;

/** The chip's photo as the identity check decoded it (once, for the match and the screen), or why there is none. */
export type ChipPhoto = DecodedPortrait | { missing: string };

export interface FaceOutcome {
  decision: FaceDecision;
  summary: FaceSummary;
}

function summaryOf(result: FaceMatchResult, frames: number, captureMs: number): FaceSummary {
  return {
    faceMatch: result.decision,
    faceScore: result.score === null ? null : Math.round(result.score * 1000) / 1000,
    faceThreshold: result.threshold,
    faceDetectModel: result.models.detect,
    faceFeatureModel: result.models.feature,
    faceFrames: frames,
    faceUsableFrames: result.usableFrames,
    faceCaptureMs: Math.round(captureMs),
    faceMatchMs: Math.round(result.timings.totalMs),
    faceLiveness: 'not-performed',
  };
}

/** Up to `count` frames from the camera, or what arrived before the timeout; the camera is stopped either way. */
async function collectFrames(camera: Camera, count: number, timeoutMs: number): Promise<CameraFrame[]> {
  const frames: CameraFrame[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onFrame = (frame: CameraFrame): void => {
    frames.push(frame);
    if (frames.length >= count) done();
  };
  camera.on('frame', onFrame);
  camera.on('stopped', done);
  const timer = setTimeout(done, timeoutMs);
  try {
    await camera.start();
    await finished;
  } finally {
    clearTimeout(timer);
    camera.off('frame', onFrame);
    camera.off('stopped', done);
    await camera.stop();
  }
  return frames;
}

/**
 * The kiosk's camera. Simulated devices: a SimulatedCamera playing the image files of `devices.cameraFrames`, which
 * `kiosk-sim setup` writes (`npm start` runs it first); a missing or empty folder stops the start-up, an empty
 * setting means no camera. Real devices: none yet (no camera driver), so the face step is not performed there.
 */
async function kioskCamera(config: Pick<KioskConfig, 'devices'>, log: Logger): Promise<Camera | undefined> {
  const { mode, cameraFrames, cameraFps } = config.devices;
  if (mode === 'real') {
    log.warn('real devices: no camera driver yet, the face step is not performed');
    return undefined;
  }
  if (cameraFrames === '') {
    log.warn('devices.cameraFrames is empty: no simulated camera, the face step is not performed');
    return undefined;
  }
  const files = await readdir(cameraFrames).catch((): string[] => []);
  if (files.length === 0) {
    throw new KioskError('CAMERA_START_FAILED', `simulated camera: devices.cameraFrames "${cameraFrames}" is missing or empty; write a persona's live photos there with \`kiosk-sim setup\` or \`kiosk-sim camera-frames\` (npm start runs the set-up first)`, {
      details: { device: 'camera' },
    });
  }
  log.warn({ cameraFrames }, 'simulated camera: playing the frames of devices.cameraFrames');
  return new SimulatedCamera({ source: cameraFrames, fps: cameraFps });
}

/**
 * The face match after an accepted card: frames from the kiosk camera against the chip's DG2 photo, with the
 * device profile's threshold. The engine (models checked against their manifest) is loaded once, at start-up, so a
 * missing or tampered model stops the kiosk (FACE_MODEL_*). Photos and frames stay in memory, never in a result.
 */
export class FaceStep {
  private constructor(
    private readonly engine: FaceEngine,
    private readonly camera: Camera | undefined,
    private readonly profile: FaceProfile,
    private readonly frames: number,
    private readonly timeoutMs: number,
  ) {}

  static async start(config: Pick<KioskConfig, 'device' | 'devices' | 'face'>, log: Logger, options: { camera?: Camera; frames?: number; timeoutMs?: number } = {}): Promise<FaceStep> {
    const engine = await FaceEngine.create(faceSettings(config.face));
    try {
      const camera = options.camera ?? (await kioskCamera(config, log));
      return new FaceStep(engine, camera, config.device.profile, options.frames ?? FACE_FRAMES, options.timeoutMs ?? FACE_TIMEOUT_MS);
    } catch (err) {
      await engine.release();
      throw err;
    }
  }

  /** Matches the live camera against the chip photo (DG2, decoded by the identity check). */
  async run(chipPhoto: ChipPhoto): Promise<FaceOutcome> {
    if (!this.camera) return { decision: 'not-performed', summary: { faceMatch: 'not-performed', faceLiveness: 'not-performed' } };
    // A chip without a usable photo (none, undecodable, no face) cannot confirm the citizen: staff decide.
    const unusable = (code: string): FaceOutcome => ({ decision: 'rejected', summary: { faceMatch: 'rejected', faceError: code, faceLiveness: 'not-performed' } });
    if ('missing' in chipPhoto) return unusable(chipPhoto.missing);
    const reference = chipPhoto.pixels;
    const started = performance.now();
    const frames = await collectFrames(this.camera, this.frames, this.timeoutMs);
    const captureMs = performance.now() - started;
    if (frames.length === 0) return { decision: 'retry', summary: { faceMatch: 'retry', faceFrames: 0, faceCaptureMs: Math.round(captureMs), faceLiveness: 'not-performed' } };
    try {
      const result = await this.engine.match(reference, frames, this.profile);
      return { decision: result.decision, summary: summaryOf(result, frames.length, captureMs) };
    } catch (err) {
      if (isKioskError(err, 'FACE_NOT_FOUND')) return unusable(err.code);
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.camera?.stop();
    await this.engine.release();
  }
}
