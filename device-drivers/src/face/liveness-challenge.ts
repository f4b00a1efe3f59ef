import type { HeadPose } from './face-models.js';

export type ChallengeKind = 'blink' | 'turn-left' | 'turn-right';
export type ChallengeState = 'waiting-open' | 'waiting-action' | 'waiting-return' | 'passed' | 'failed';

export interface ChallengeOptions {
  kind: ChallengeKind;
  /** Frames allowed before the challenge fails. */
  maxFrames: number;
  /** Open-eye probability above which an eye is open, below (1 - it) closed. */
  eyeOpen: number;
  /** Yaw in degrees the head must turn past (sign by direction). */
  turnDegrees: number;
}

/** What the challenge reads of an analysed frame (a FaceAnalysis of the engine is one). */
export interface ChallengeFrame {
  faces: number;
  /** Probability of each eye being open, image-left first. */
  eyesOpen: readonly [number, number] | undefined;
  pose: Pick<HeadPose, 'yaw'> | undefined;
}

export const DEFAULT_CHALLENGE: ChallengeOptions = { kind: 'blink', maxFrames: 90, eyeOpen: 0.8, turnDegrees: 20 };

/**
 * Active liveness over a frame sequence. Blink: eyes open, then both closed, then open again. Turn: facing the
 * camera (|yaw| below half the target), then yaw past the target in the asked direction, then back. A frame
 * without exactly one face resets the sequence to its start, so a photo swapped in mid-challenge gains nothing.
 * Positive yaw is taken as the subject's left (checked on mirrored frames in test/face).
 */
export class LivenessChallenge {
  private current: ChallengeState = 'waiting-open';
  private frames = 0;
  readonly options: ChallengeOptions;

  constructor(options: Partial<ChallengeOptions> = {}) {
    this.options = { ...DEFAULT_CHALLENGE, ...options };
  }

  get state(): ChallengeState {
    return this.current;
  }

  /** Feeds one analysed frame (with eye and pose checks) and returns the new state. */
  next(frame: ChallengeFrame): ChallengeState {
    if (this.current === 'passed' || this.current === 'failed') return this.current;
    this.frames++;
    if (frame.faces !== 1 || !frame.eyesOpen || !frame.pose) this.current = 'waiting-open';
    else this.current = this.advance(frame.eyesOpen, frame.pose.yaw);
    if (this.current !== 'passed' && this.frames >= this.options.maxFrames) this.current = 'failed';
    return this.current;
  }

  private advance(eyes: readonly [number, number], yaw: number): ChallengeState {
    const { kind, eyeOpen, turnDegrees } = this.options;
    if (kind === 'blink') {
      const open = Math.min(...eyes) >= eyeOpen;
      const closed = Math.max(...eyes) <= 1 - eyeOpen;
      if (this.current === 'waiting-open') return open ? 'waiting-action' : 'waiting-open';
      if (this.current === 'waiting-action') return closed ? 'waiting-return' : 'waiting-action';
      return open ? 'passed' : 'waiting-return';
    }
    const signed = kind === 'turn-left' ? yaw : -yaw;
    const facing = Math.abs(yaw) < turnDegrees / 2;
    if (this.current === 'waiting-open') return facing ? 'waiting-action' : 'waiting-open';
    if (this.current === 'waiting-action') return signed >= turnDegrees ? 'waiting-return' : 'waiting-action';
    return facing ? 'passed' : 'waiting-return';
  }
}
