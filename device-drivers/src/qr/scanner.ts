import { EventEmitter } from 'node:events';
import { KioskError, type ErrorCode } from '@kiosk/common';

/** How the scanner reaches the kiosk: a serial (or USB CDC-ACM) port, a HID keyboard wedge, HID-POS, or a camera. */
export type ScanTransport = 'serial' | 'hid-keyboard' | 'hid-pos' | 'camera';

export interface ScanSource {
  transport: ScanTransport;
  /** The device: serial path, HID path or "vid:pid", or a simulator's name. */
  device: string;
}

export interface ScanEvent {
  /** The decoded text exactly as the scanner sent it, without the suffix (callers normalize, e.g. parseCccdQr). */
  text: string;
  source: ScanSource;
  /**
   * When the last byte arrived (for a camera: when the frame that showed the code was captured), epoch
   * milliseconds with sub-millisecond precision (performance clock).
   */
  receivedAt: number;
}

export interface QrScannerEvents {
  scan: [ScanEvent];
  attached: [device: string];
  detached: [device: string];
  error: [KioskError];
}

/** Byte capacity of the largest QR code (version 40-L, byte mode): no real code is longer. */
export const QR_MAX_BYTES = 2953;

/** What went wrong, in `error.details.problem`. */
export type ScannerProblem =
  | 'options'
  | 'open-failed'
  | 'disconnected'
  | 'read-failed'
  | 'overlong'
  | 'incomplete'
  | 'invalid-utf8'
  | 'bad-report'
  | 'unmapped-key'
  | 'bad-alt-code';

/** Each problem's stable code; `details.problem` says precisely what happened. */
const PROBLEM_CODES: Record<ScannerProblem, ErrorCode> = {
  options: 'CONFIG_INVALID',
  'open-failed': 'QR_SCANNER_NOT_FOUND',
  disconnected: 'QR_SCANNER_DISCONNECTED',
  'read-failed': 'QR_SCANNER_DISCONNECTED',
  overlong: 'QR_SCAN_MALFORMED',
  incomplete: 'QR_SCAN_INCOMPLETE',
  'invalid-utf8': 'QR_SCAN_MALFORMED',
  'bad-report': 'QR_SCAN_MALFORMED',
  'unmapped-key': 'QR_SCAN_MALFORMED',
  'bad-alt-code': 'QR_SCAN_MALFORMED',
};

/** Messages and details carry sizes and device names only, never scanned text: an ID QR is personal data. */
export function scannerError(problem: ScannerProblem, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}): KioskError {
  return new KioskError(PROBLEM_CODES[problem], `QR scanner: ${message}`, { cause: options.cause, details: { device: 'qr-scanner', problem, ...options.details } });
}

/** The outcome of decoding one code: its text, or why it was dropped. Shared by the serial and HID decoders. */
export type DecodeResult = { kind: 'code'; text: string } | { kind: 'error'; error: KioskError };

/** Epoch milliseconds with sub-millisecond precision, for latency measurement. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A QR/barcode scanner, real or simulated. `start()` resolves once the device is open or the first attempt has
 * failed (an 'error' then says why and drivers keep trying: a scanner may be plugged in later). `stop()` releases
 * the device and every timer and child process.
 */
export abstract class QrScanner extends EventEmitter<QrScannerEvents> {
  abstract readonly source: ScanSource;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  /** Emits the decoder's outcome as a 'scan' or an 'error'. */
  protected deliver(result: DecodeResult, receivedAt = preciseNow()): void {
    if (result.kind === 'code') this.emit('scan', { text: result.text, source: this.source, receivedAt });
    else this.fail(result.error);
  }

  protected fail(err: KioskError): void {
    // An 'error' event without a listener would crash the kiosk process; a scanner nobody listens to stays quiet.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

export interface ReconnectOptions {
  /** First delay after a failed open or a disconnect (default 200 ms). */
  initialDelayMs?: number;
  /** Cap on the doubling delay (default 5000 ms). */
  maxDelayMs?: number;
}

/** Doubling delays between reconnect attempts, back to the first once a device opens. */
export class Backoff {
  private next: number;
  private readonly initial: number;
  private readonly max: number;

  constructor(options: ReconnectOptions = {}) {
    this.initial = options.initialDelayMs ?? 200;
    this.max = options.maxDelayMs ?? 5000;
    if (!(this.initial > 0) || !(this.max >= this.initial)) throw scannerError('options', 'reconnect delays must be positive, with maxDelayMs >= initialDelayMs');
    this.next = this.initial;
  }

  delay(): number {
    const current = this.next;
    this.next = Math.min(this.max, this.next * 2);
    return current;
  }

  reset(): void {
    this.next = this.initial;
  }
}

/**
 * A driver whose device can vanish and come back (USB hot-plug): opens with backoff until it succeeds, reports
 * 'attached'/'detached', and reports one error per outage rather than one per retry.
 */
export abstract class ReconnectingScanner extends QrScanner {
  private running = false;
  private connected = false;
  private outageReported = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff | undefined;

  constructor(reconnect: ReconnectOptions | false) {
    super();
    this.backoff = reconnect === false ? undefined : new Backoff(reconnect);
  }

  get isAttached(): boolean {
    return this.connected;
  }

  /** Opens the device; rejects with a KioskError when it cannot. */
  protected abstract openDevice(): Promise<void>;
  /** Releases the device; must not reject. */
  protected abstract closeDevice(): Promise<void>;

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.attempt();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!this.connected) return;
    this.connected = false;
    await this.closeDevice();
  }

  /** For subclasses: the device went away without stop(). */
  protected lost(err: KioskError): void {
    if (!this.running || !this.connected) return;
    this.connected = false;
    this.emit('detached', this.source.device);
    this.fail(err);
    this.outageReported = true;
    this.scheduleRetry();
  }

  private async attempt(): Promise<void> {
    this.retryTimer = undefined;
    try {
      await this.openDevice();
    } catch (err) {
      if (!this.running) return;
      if (!this.outageReported) this.fail(err instanceof KioskError ? err : scannerError('open-failed', `cannot open ${this.source.device}`, { cause: err }));
      this.outageReported = true;
      this.scheduleRetry();
      return;
    }
    if (!this.running) {
      await this.closeDevice();
      return;
    }
    this.connected = true;
    this.outageReported = false;
    this.backoff?.reset();
    this.emit('attached', this.source.device);
  }

  private scheduleRetry(): void {
    if (!this.backoff || !this.running) return;
    this.retryTimer = setTimeout(() => void this.attempt(), this.backoff.delay());
  }
}
