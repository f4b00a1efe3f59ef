import { createRequire } from 'node:module';
import type { SerialPort } from 'serialport';
import { QR_MAX_BYTES, ReconnectingScanner, preciseNow, scannerError, type DecodeResult, type ReconnectOptions, type ScanSource } from './scanner.js';

// Loaded on first open: importing the QR module (the CCCD QR parser) must not load a native binding.
const require = createRequire(import.meta.url);

export type ScanSuffix = 'CR' | 'LF' | 'CRLF' | 'TAB' | 'none';

export const SCAN_SUFFIX_BYTES: Record<Exclude<ScanSuffix, 'none'>, Buffer> = {
  CR: Buffer.from([0x0d]),
  LF: Buffer.from([0x0a]),
  CRLF: Buffer.from([0x0d, 0x0a]),
  TAB: Buffer.from([0x09]),
};

export interface CodeFramerOptions {
  /** What ends a code; 'none' means a pause (the inter-character timeout) ends it. */
  suffix?: ScanSuffix;
  /** Longest code in bytes (default QR_MAX_BYTES); a longer one is dropped whole. */
  maxLength?: number;
  /**
   * What a pause does to a partial code when a suffix is expected: 'discard' (default, and the safe choice: a code
   * cut short, by a cable pulled or a scanner buffer overrun, must never yield text that looks valid) or 'flush'.
   */
  onIdle?: 'discard' | 'flush';
}

/**
 * Splits a scanner's byte stream into codes. Framing works on bytes and decodes each whole code once, so a UTF-8
 * character split across reads is reassembled; the suffix bytes (CR, LF, TAB) can never occur inside a multibyte
 * UTF-8 sequence, whose bytes are all >= 0x80. Invalid UTF-8 drops the code instead of inserting U+FFFD.
 */
export class CodeFramer {
  readonly suffix: ScanSuffix;
  readonly maxLength: number;
  readonly onIdle: 'discard' | 'flush';
  private readonly suffixBytes: Buffer | undefined;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private buffer = Buffer.alloc(0);
  /** After an overlong code, bytes are dropped until its end (suffix or pause), so its tail is not taken for a code. */
  private skipping = false;

  constructor(options: CodeFramerOptions = {}) {
    this.suffix = options.suffix ?? 'CR';
    this.maxLength = options.maxLength ?? QR_MAX_BYTES;
    this.onIdle = options.onIdle ?? 'discard';
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1) throw scannerError('options', 'maxLength must be a positive integer');
    this.suffixBytes = this.suffix === 'none' ? undefined : SCAN_SUFFIX_BYTES[this.suffix];
  }

  /** Whether part of a code is waiting for its end. */
  get pending(): boolean {
    return this.buffer.length > 0 || this.skipping;
  }

  push(chunk: Uint8Array): DecodeResult[] {
    const results: DecodeResult[] = [];
    let data = Buffer.concat([this.buffer, chunk]);
    if (this.suffixBytes) {
      for (let end = data.indexOf(this.suffixBytes); end >= 0; end = data.indexOf(this.suffixBytes)) {
        const code = data.subarray(0, end);
        data = data.subarray(end + this.suffixBytes.length);
        if (this.skipping) this.skipping = false;
        else this.complete(code, results);
      }
    }
    if (this.skipping) data = Buffer.alloc(0);
    // With a two-byte suffix, one byte more than the limit may be the suffix's first half.
    const limit = this.maxLength + (this.suffixBytes ? this.suffixBytes.length - 1 : 0);
    if (data.length > limit) {
      results.push({ kind: 'error', error: scannerError('overlong', `code longer than ${this.maxLength} bytes dropped`, { details: { maxLength: this.maxLength } }) });
      this.skipping = true;
      data = Buffer.alloc(0);
    }
    this.buffer = Buffer.from(data);
    return results;
  }

  /** The line went quiet: ends a code without suffix, or discards/flushes a partial one per `onIdle`. */
  idle(): DecodeResult | undefined {
    const partial = this.buffer;
    const skipped = this.skipping;
    this.reset();
    if (skipped || partial.length === 0) return undefined;
    if (this.suffix !== 'none' && this.onIdle === 'discard') {
      return { kind: 'error', error: scannerError('incomplete', `partial code of ${partial.length} bytes without suffix discarded`, { details: { bytes: partial.length } }) };
    }
    const results: DecodeResult[] = [];
    this.complete(partial, results);
    return results[0];
  }

  /** Forgets any partial code (the device went away). */
  reset(): void {
    this.buffer = Buffer.alloc(0);
    this.skipping = false;
  }

  private complete(code: Uint8Array, results: DecodeResult[]): void {
    // Empty frames come from doubled suffixes (a scanner sending CRLF to a CR framer): nothing was scanned.
    if (code.length === 0) return;
    try {
      results.push({ kind: 'code', text: this.decoder.decode(code) });
    } catch (cause) {
      results.push({ kind: 'error', error: scannerError('invalid-utf8', `code of ${code.length} bytes is not valid UTF-8`, { cause, details: { bytes: code.length } }) });
    }
  }
}

export interface SerialScannerOptions extends CodeFramerOptions {
  /** The port, e.g. /dev/ttyACM0, or a stable udev symlink (/dev/serial/by-id/...), which survives re-plugging. */
  path: string;
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 2;
  /** With suffix 'none': the pause that ends a code (default 50 ms; at 9600 baud a byte takes about 1 ms). */
  interCharTimeoutMs?: number;
  /** With a suffix: the pause after which a partial code is discarded or flushed (default 1000 ms). */
  idleTimeoutMs?: number;
  /** Reopen after the port disappears, with doubling delays (default on); false to stay closed. */
  reconnect?: ReconnectOptions | false;
}

/** A scanner on a serial port (RS-232, or USB in CDC-ACM "virtual COM" mode). */
export class SerialScanner extends ReconnectingScanner {
  readonly source: ScanSource;
  private readonly options: SerialScannerOptions;
  private readonly framer: CodeFramer;
  private readonly pauseMs: number;
  private port: SerialPort | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(options: SerialScannerOptions) {
    super(options.reconnect ?? {});
    const baudRate = options.baudRate ?? 9600;
    if (!Number.isInteger(baudRate) || baudRate <= 0) throw scannerError('options', 'baudRate must be a positive integer');
    this.framer = new CodeFramer(options);
    this.pauseMs = this.framer.suffix === 'none' ? (options.interCharTimeoutMs ?? 50) : (options.idleTimeoutMs ?? 1000);
    if (!(this.pauseMs > 0)) throw scannerError('options', 'interCharTimeoutMs and idleTimeoutMs must be positive');
    this.options = { ...options, baudRate };
    this.source = { transport: 'serial', device: options.path };
  }

  get suffix(): ScanSuffix {
    return this.framer.suffix;
  }

  protected async openDevice(): Promise<void> {
    const { SerialPort: Port } = require('serialport') as { SerialPort: typeof SerialPort };
    const { path, baudRate = 9600, dataBits = 8, parity = 'none', stopBits = 1 } = this.options;
    const port = new Port({ path, baudRate, dataBits, parity, stopBits, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(scannerError('open-failed', `cannot open ${path}: ${err.message}`, { cause: err })) : resolve()));
    });
    this.port = port;
    port.on('data', (chunk: Buffer) => this.receive(chunk));
    port.on('error', (err: Error) => this.fail(scannerError('read-failed', `reading ${path} failed: ${err.message}`, { cause: err })));
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      if (this.port !== port) return;
      this.release();
      this.lost(scannerError('disconnected', `${path} closed${err ? `: ${err.message}` : ''}`, { cause: err ?? undefined }));
    });
  }

  protected async closeDevice(): Promise<void> {
    const port = this.port;
    this.release();
    if (!port?.isOpen) return;
    // A close error means the port is already gone; either way nothing remains to release.
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private receive(chunk: Buffer): void {
    const receivedAt = preciseNow();
    clearTimeout(this.idleTimer);
    for (const result of this.framer.push(chunk)) this.deliver(result, receivedAt);
    if (this.framer.pending) this.idleTimer = setTimeout(() => this.onPause(receivedAt), this.pauseMs);
  }

  private onPause(lastByteAt: number): void {
    const result = this.framer.idle();
    if (result) this.deliver(result, lastByteAt);
  }

  /** Forgets the port and any partial code: bytes from before a disconnect never join bytes from after it. */
  private release(): void {
    clearTimeout(this.idleTimer);
    this.framer.reset();
    this.port?.removeAllListeners('data');
    this.port = undefined;
  }
}
