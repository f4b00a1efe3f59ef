import { EventEmitter } from 'node:events';
import type { KioskError } from '@kiosk/common';
import type { RawImage } from '../image/raw-image.js';

/** One captured frame: its pixels, when it was captured and its place in the stream. */
export interface CameraFrame extends RawImage {
  /** Capture time, epoch milliseconds with sub-millisecond precision. */
  timestamp: number;
  /** 0, 1, 2, ... since start(); a gap means frames were dropped at the source. */
  sequence: number;
}

export interface CameraEvents {
  frame: [CameraFrame];
  started: [];
  /** The camera stopped: stop() was called, or a finite source (a non-looping image sequence) ran out. */
  stopped: [];
  error: [KioskError];
}

/**
 * A camera, real or simulated, as a stream of frame events. `start()` resolves once frames will follow (or
 * rejects with CAMERA_START_FAILED); `stop()` releases the device and every timer.
 */
export abstract class Camera extends EventEmitter<CameraEvents> {
  abstract readonly name: string;
  abstract readonly running: boolean;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  protected fail(err: KioskError): void {
    // An 'error' event without a listener would crash the kiosk process.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
