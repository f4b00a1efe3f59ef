/**
 * The receipt printer device: one interface, a real driver writing ESC/POS to a device node, and (in
 * simulated-printer.ts) a simulated one; both emit the same typed status events.
 */
import { EventEmitter } from 'node:events';
import { constants, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KioskError, isKioskError, type ErrorCode } from '@kiosk/common';

export type PrinterStatus = 'ready' | 'paper-out' | 'offline' | 'error';

export interface PrinterEvents {
  /** Emitted on every change of status; `error` says why when the new status is not 'ready'. */
  status: [status: PrinterStatus, error: KioskError | undefined];
}

export interface ReceiptPrinter {
  /** Sends one job of ESC/POS bytes. Rejects with KioskError when the printer cannot take it. */
  print(bytes: Uint8Array): Promise<void>;
  status(): PrinterStatus;
  on<K extends keyof PrinterEvents>(event: K, listener: (...args: PrinterEvents[K]) => void): this;
  off<K extends keyof PrinterEvents>(event: K, listener: (...args: PrinterEvents[K]) => void): this;
}

/**
 * Why a print failed, in `details.reason`: finer than the error code (a timeout and a missing device are both
 * PRINTER_OFFLINE), for logs and for `printerFailureOf`.
 */
export type PrinterFailure = 'not-ready' | 'device-missing' | 'permission-denied' | 'paper-out' | 'write-failed' | 'timeout' | 'bad-job';

const FAILURE_CODE: Record<PrinterFailure, ErrorCode> = {
  'not-ready': 'PRINTER_NOT_READY',
  'device-missing': 'PRINTER_OFFLINE',
  'permission-denied': 'PRINTER_PERMISSION_DENIED',
  'paper-out': 'PRINTER_PAPER_OUT',
  'write-failed': 'PRINTER_WRITE_FAILED',
  timeout: 'PRINTER_OFFLINE',
  // An empty job, or (simulated printer) bytes that are not ESC/POS: the caller's bug, not the printer's.
  'bad-job': 'USAGE',
};

export function printerError(reason: PrinterFailure, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}): KioskError {
  return new KioskError(FAILURE_CODE[reason], message, { cause: options.cause, details: { ...options.details, device: 'printer', reason } });
}

/** The printer failure a KioskError carries, if it is one. */
export function printerFailureOf(err: unknown): PrinterFailure | undefined {
  if (!isKioskError(err) || err.details?.device !== 'printer') return undefined;
  const reason = err.details.reason;
  return typeof reason === 'string' && reason in FAILURE_CODE ? (reason as PrinterFailure) : undefined;
}

/** Status tracking and event emission shared by the real and simulated printers. */
export abstract class StatusEmitter extends EventEmitter<PrinterEvents> {
  private current: PrinterStatus;

  protected constructor(initial: PrinterStatus) {
    super();
    this.current = initial;
  }

  status(): PrinterStatus {
    return this.current;
  }

  protected setStatus(status: PrinterStatus, error?: KioskError): void {
    if (status === this.current) return;
    this.current = status;
    this.emit('status', status, error);
  }
}

export interface DevicePrinterOptions {
  /** Character device of the printer, e.g. /dev/usb/lp0 (USB printer class) or a serial port. */
  path: string;
  /** Opening and writing the job must finish within this (default 10 s): a printer out of paper or switched off
   * may block the write instead of failing it. */
  writeTimeoutMs?: number;
}

const DEFAULT_WRITE_TIMEOUT_MS = 10_000;

/** Maps the errno of a failed open or write to a failure and the status it implies. */
function classify(err: unknown): { reason: PrinterFailure; status: PrinterStatus } {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return { reason: 'device-missing', status: 'offline' };
    case 'EACCES':
    case 'EPERM':
      return { reason: 'permission-denied', status: 'error' };
    // The Linux usblp driver answers ENOSPC when the printer reports paper out (with LPABORT set).
    case 'ENOSPC':
      return { reason: 'paper-out', status: 'paper-out' };
    default:
      return { reason: 'write-failed', status: 'error' };
  }
}

/**
 * A printer behind a character device. Each job opens the device, writes, and closes, so an unplugged and
 * replugged printer works again on the next job; jobs are serialised so two tickets never interleave.
 *
 * Status is learnt from write outcomes: the device node gives no status without a bidirectional read
 * (DLE EOT), so 'ready' means "the last job went through".
 */
export class DevicePrinter extends StatusEmitter implements ReceiptPrinter {
  private queue: Promise<void> = Promise.resolve();
  /** Set while a timed-out write is still stuck in the device. */
  private blocked: Promise<void> | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: DevicePrinterOptions) {
    super('ready');
    this.timeoutMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  }

  print(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return Promise.reject(printerError('bad-job', 'a print job must have bytes'));
    const job = this.queue.then(() => this.write(bytes));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async write(bytes: Uint8Array): Promise<void> {
    const path = this.options.path;
    if (this.blocked) throw printerError('not-ready', `an earlier job is still blocked in ${path}`, { details: { path } });
    const controller = new AbortController();
    const work = send(path, bytes, controller.signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    let outcome: 'sent' | 'timeout';
    try {
      outcome = await Promise.race([work.then(() => 'sent' as const), timeout]);
    } catch (err) {
      throw this.fail(classify(err), err);
    } finally {
      clearTimeout(timer);
    }
    if (outcome === 'timeout') {
      // A blocked write cannot be interrupted (it sits in a libuv thread); the abort closes the device once it
      // returns, and until then further jobs are refused rather than queued behind it.
      controller.abort();
      this.blocked = work.catch(() => undefined).finally(() => (this.blocked = undefined));
      throw this.fail({ reason: 'timeout', status: 'offline' });
    }
    this.setStatus('ready');
  }

  private fail(failure: { reason: PrinterFailure; status: PrinterStatus }, cause?: unknown): KioskError {
    const path = this.options.path;
    const error = printerError(failure.reason, `printing to ${path} failed: ${failure.reason}`, { cause, details: { path } });
    this.setStatus(failure.status, error);
    return error;
  }
}

async function send(path: string, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  // O_WRONLY without O_CREAT: a missing device must fail, not become a regular file. O_APPEND is a no-op on a
  // device and keeps successive jobs when a plain file stands in for it.
  const handle = await fs.open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY);
  await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)]), handle.createWriteStream(), { signal });
}
