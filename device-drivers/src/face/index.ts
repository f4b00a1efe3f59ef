export { ARCFACE_TEMPLATE, applySimilarity, fitSimilarity, inverseAffine, type Point, type Similarity } from './align.js';
export { FaceEngine, QUALITY_FLAGS, cosineSimilarity, type FaceAnalysis, type FaceMatchResult, type MatchDecision, type QualityFlag, type StageTimings } from './engine.js';
export { FaceModels, fivePoints, iou, nonMaxSuppression, type FaceBox, type HeadPose, type LoadFaceModelsOptions } from './face-models.js';
export { decodeFacePhoto } from './face-image.js';
export { DEFAULT_CHALLENGE, LivenessChallenge, type ChallengeFrame, type ChallengeKind, type ChallengeOptions, type ChallengeState } from './liveness-challenge.js';
export { DEFAULT_FACE_MANIFEST, MODEL_ROLES, readFaceManifest, type ModelEntry, type ModelRole, type VerifiedModel } from './manifest.js';
export { DEFAULT_FACE_SETTINGS, challengeOptions, faceSettings, type FaceProfile, type FaceSettings } from './settings.js';
export { cropResize, laplacianVariance, type Patch } from './image-ops.js';
