/** The face section of the kiosk configuration, as the engine uses it (common/src/config-schema.ts validates it). */
export type FaceProfile = 'public-service' | 'hospital' | 'notary';

export interface FaceSettings {
  /** Model manifest path; '' = the manifest shipped in device-drivers/models. */
  manifest: string;
  threads: number;
  /** Cosine similarity at or above which a match is accepted, per profile (docs/face.md, calibration). */
  thresholds: Record<FaceProfile, number>;
  detectScore: number;
  /** Smallest face side in pixels. */
  minFaceSize: number;
  /** Smallest Laplacian variance of the aligned 112x112 face. */
  minSharpness: number;
  /** Probability below which an eye counts as closed (both closed = flag). */
  eyeOpenMin: number;
  maxYaw: number;
  maxPitch: number;
}

export const DEFAULT_FACE_SETTINGS: FaceSettings = {
  manifest: '',
  threads: 1,
  thresholds: { 'public-service': 0.35, hospital: 0.35, notary: 0.4 },
  detectScore: 0.7,
  minFaceSize: 60,
  minSharpness: 50,
  eyeOpenMin: 0.5,
  maxYaw: 30,
  maxPitch: 30,
};
