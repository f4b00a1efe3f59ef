import { KioskError } from '@kiosk/common';
import type { Camera, CameraFrame } from '../camera/camera.js';
import { QrFramePipeline, type PipelineOptions } from './decode/pipeline.js';
import { QrScanner, type ScanSource } from './scanner.js';

export interface CameraQrScannerOptions extends PipelineOptions {
  /**
   * A code still in view is reported once: the same text again within this many ms of its last sighting is a
   * repeat, not a new scan (default 2000). Shown again after a longer absence, it is reported again.
   */
  repeatWindowMs?: number;
}

/**
 * A QR scanner made of a camera and the frame pipeline: emits the same 'scan' events as the serial and HID
 * scanners. Frames arriving while one is being decoded are dropped (the newest frame matters, not a backlog);
 * the pipeline's per-frame budget (default 25 ms) keeps decoding within a 30 frames/s stream.
 */
export class CameraQrScanner extends QrScanner {
  readonly source: ScanSource;
  private readonly camera: Camera;
  private readonly pipeline: QrFramePipeline;
  private readonly repeatWindowMs: number;
  private busy = false;
  private last: { text: string; seenAt: number } | undefined;
  private dropped = 0;
  private readonly onFrame = (frame: CameraFrame): void => void this.process(frame);
  private readonly onCameraError = (err: KioskError): void => this.fail(err);
  private attached = false;
  private readonly onStopped = (): void => this.markDetached();

  constructor(camera: Camera, options: CameraQrScannerOptions = {}) {
    super();
    this.camera = camera;
    this.source = { transport: 'camera', device: camera.name };
    this.pipeline = new QrFramePipeline({ budgetMs: 25, ...options });
    this.repeatWindowMs = options.repeatWindowMs ?? 2000;
    if (!(this.repeatWindowMs >= 0)) throw new KioskError('CONFIG_INVALID', 'camera QR scanner: repeatWindowMs must be >= 0');
  }

  /** Frames skipped because the previous one was still being decoded. */
  get droppedFrames(): number {
    return this.dropped;
  }

  async start(): Promise<void> {
    this.camera.on('frame', this.onFrame);
    this.camera.on('error', this.onCameraError);
    this.camera.on('stopped', this.onStopped);
    try {
      await this.camera.start();
    } catch (err) {
      this.detach();
      throw err;
    }
    this.attached = true;
    this.emit('attached', this.source.device);
  }

  async stop(): Promise<void> {
    this.camera.off('stopped', this.onStopped);
    await this.camera.stop();
    this.detach();
    this.pipeline.reset();
    this.last = undefined;
    this.markDetached();
  }

  /** 'detached' once per start, whether the camera ended by itself (a finite source) or stop() was called. */
  private markDetached(): void {
    if (!this.attached) return;
    this.attached = false;
    this.emit('detached', this.source.device);
  }

  private detach(): void {
    this.camera.off('frame', this.onFrame);
    this.camera.off('error', this.onCameraError);
    this.camera.off('stopped', this.onStopped);
  }

  private async process(frame: CameraFrame): Promise<void> {
    if (this.busy) {
      this.dropped++;
      return;
    }
    this.busy = true;
    try {
      const found = await this.pipeline.decode(frame);
      if (!found) return;
      const repeat = this.last?.text === found.text && frame.timestamp - this.last.seenAt <= this.repeatWindowMs;
      this.last = { text: found.text, seenAt: frame.timestamp };
      if (!repeat) this.emit('scan', { text: found.text, source: this.source, receivedAt: frame.timestamp });
    } catch (err) {
      this.fail(err instanceof KioskError ? err : new KioskError('QR_DECODE_FAILED', `decoding a camera frame failed: ${(err as Error).message}`, { cause: err }));
    } finally {
      this.busy = false;
    }
  }
}
