import { describe, expect, it } from 'vitest';
import { LivenessChallenge, type ChallengeState } from '../../src/face/liveness-challenge.js';

const frame = (eyes: [number, number], yaw = 0, faces = 1) => ({ faces, eyesOpen: eyes, pose: { yaw, pitch: 0, roll: 0 } });
const OPEN: [number, number] = [0.98, 0.95];
const SHUT: [number, number] = [0.02, 0.1];
const run = (c: LivenessChallenge, frames: Array<ReturnType<typeof frame>>): ChallengeState[] => frames.map((f) => c.next(f));

describe('active liveness challenge', () => {
  it('blink: open, closed, open passes; the states say where the citizen is', () => {
    const c = new LivenessChallenge({ kind: 'blink' });
    expect(run(c, [frame(OPEN), frame(OPEN), frame(SHUT), frame(SHUT), frame(OPEN)])).toEqual(['waiting-action', 'waiting-action', 'waiting-return', 'waiting-return', 'passed']);
    expect(c.next(frame(SHUT))).toBe('passed');
  });

  it('blink: eyes that never open (a photo with closed eyes) or never close (a printed photo) fail after maxFrames', () => {
    const shut = new LivenessChallenge({ kind: 'blink', maxFrames: 5 });
    expect(run(shut, Array.from({ length: 5 }, () => frame(SHUT))).at(-1)).toBe('failed');
    const open = new LivenessChallenge({ kind: 'blink', maxFrames: 5 });
    expect(run(open, Array.from({ length: 6 }, () => frame(OPEN))).slice(-2)).toEqual(['failed', 'failed']);
  });

  it('one eye closed is not a blink; a frame without exactly one face restarts the sequence', () => {
    const wink = new LivenessChallenge({ kind: 'blink' });
    expect(run(wink, [frame(OPEN), frame([0.02, 0.97]), frame(OPEN)]).at(-1)).toBe('waiting-action');
    const swapped = new LivenessChallenge({ kind: 'blink' });
    expect(run(swapped, [frame(OPEN), frame(SHUT), frame(OPEN, 0, 2), frame(OPEN)])).toEqual(['waiting-action', 'waiting-return', 'waiting-open', 'waiting-action']);
  });

  it('turn-left / turn-right: facing, past the angle in the asked direction, back', () => {
    const left = new LivenessChallenge({ kind: 'turn-left', turnDegrees: 20 });
    expect(run(left, [frame(OPEN, 2), frame(OPEN, -25), frame(OPEN, 24), frame(OPEN, 15), frame(OPEN, 3)])).toEqual(['waiting-action', 'waiting-action', 'waiting-return', 'waiting-return', 'passed']);
    const right = new LivenessChallenge({ kind: 'turn-right', turnDegrees: 20 });
    expect(run(right, [frame(OPEN, 0), frame(OPEN, 25), frame(OPEN, -21), frame(OPEN, 0)])).toEqual(['waiting-action', 'waiting-action', 'waiting-return', 'passed']);
    const start = new LivenessChallenge({ kind: 'turn-left', turnDegrees: 20 });
    expect(start.next(frame(OPEN, 30))).toBe('waiting-open');
  });
});
