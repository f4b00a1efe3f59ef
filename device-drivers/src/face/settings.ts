import { configSchema, type KioskConfig } from '@kiosk/common';
import { DEFAULT_CHALLENGE, type ChallengeOptions } from './liveness-challenge.js';

/** The face section of the kiosk configuration as the engine uses it, plus two model constants. */
export type FaceProfile = KioskConfig['device']['profile'];

export type FaceSettings = Omit<KioskConfig['face'], 'liveness'> & {
  /** Detector score a face needs. */
  detectScore: number;
  /** Probability below which an eye counts as closed (both closed = flag). */
  eyeOpenMin: number;
  /** Compute the (unvalidated) passive anti-spoofing score for the match result. */
  passiveLiveness: boolean;
};

// The configuration's defaults are the engine's: one source of truth (common/src/config-schema.ts).
export const DEFAULT_FACE_SETTINGS: FaceSettings = faceSettings(configSchema.parse({}).face);

/** Engine settings from the configuration's face section (its liveness part drives the challenge, not the engine). */
export function faceSettings(face: KioskConfig['face']): FaceSettings {
  const { manifest, threads, thresholds, minFaceSize, minSharpness, maxYaw, maxPitch } = face;
  return { manifest, threads, thresholds, minFaceSize, minSharpness, maxYaw, maxPitch, detectScore: 0.7, eyeOpenMin: 0.5, passiveLiveness: face.liveness.passive };
}

/** The active challenge's options from the configuration, or undefined when it is switched off. */
export function challengeOptions(face: KioskConfig['face']): ChallengeOptions | undefined {
  const { challenge, maxFrames, turnDegrees } = face.liveness;
  return challenge === 'none' ? undefined : { ...DEFAULT_CHALLENGE, kind: challenge, maxFrames, turnDegrees };
}
