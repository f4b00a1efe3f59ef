import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KioskError } from '@kiosk/common';
import { KeyboardWedgeDecoder, MODIFIER, US_LAYOUT, USAGE_ENTER, keypadDigitUsage, type KeyboardLayout, type KeyboardWedgeOptions } from './hid-wedge.js';
import { QrScanner, type ScanSource } from './scanner.js';
import { SCAN_SUFFIX_BYTES, SerialScanner, type SerialScannerOptions } from './serial-scanner.js';

/** Why the serial simulator cannot run here, or undefined when socat is on the PATH. */
export function socatMissing(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, 'socat'), fsConstants.X_OK);
      return undefined;
    } catch {
      // not in this directory
    }
  }
  return 'socat is not installed (Debian: apt-get install socat)';
}

const SOCAT_READY_MS = 5000;

export interface SimulatedSerialScannerOptions extends Omit<SerialScannerOptions, 'path'> {
  /** Stable symlink of the kiosk end, which the driver opens (default: unique under the temp directory). */
  hostLink?: string;
  /** Stable symlink of the scanner end, which type() writes to. */
  deviceLink?: string;
  /** Bytes per write in type() (default 7, odd so that 2- and 3-byte UTF-8 characters get split). */
  chunkSize?: number;
  /** Pause between writes, so they arrive as separate reads (default 3 ms). */
  chunkDelayMs?: number;
}

export interface TypeOptions {
  /** Append the configured suffix (default true); false leaves a partial code on the line. */
  suffix?: boolean;
  chunkSize?: number;
  chunkDelayMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A serial scanner without hardware: a socat pseudo-terminal pair, one end opened by the real SerialScanner, the
 * other written by type(). unplug()/plug() stop and restart socat (by PID) on the same symlinks, as a USB serial
 * scanner vanishes and comes back under the same /dev/serial/by-id name.
 */
export class SimulatedSerialScanner extends QrScanner {
  readonly source: ScanSource;
  readonly hostLink: string;
  readonly deviceLink: string;
  readonly driver: SerialScanner;
  private readonly suffixBytes: Uint8Array;
  private readonly chunkSize: number;
  private readonly chunkDelayMs: number;
  private socat: ChildProcess | undefined;
  private writer: FileHandle | undefined;

  constructor(options: SimulatedSerialScannerOptions = {}) {
    super();
    const unique = `kiosk-qr-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.hostLink = options.hostLink ?? join(tmpdir(), `${unique}-host`);
    this.deviceLink = options.deviceLink ?? join(tmpdir(), `${unique}-device`);
    this.chunkSize = options.chunkSize ?? 7;
    this.chunkDelayMs = options.chunkDelayMs ?? 3;
    this.driver = new SerialScanner({ ...options, path: this.hostLink });
    this.source = this.driver.source;
    const suffix = this.driver.suffix;
    this.suffixBytes = suffix === 'none' ? new Uint8Array(0) : SCAN_SUFFIX_BYTES[suffix];
    this.driver.on('scan', (event) => this.emit('scan', event));
    this.driver.on('attached', (device) => this.emit('attached', device));
    this.driver.on('detached', (device) => this.emit('detached', device));
    this.driver.on('error', (err) => this.fail(err));
  }

  /** PID of the running socat, if any. */
  get socatPid(): number | undefined {
    return this.socat?.pid;
  }

  async start(): Promise<void> {
    await this.plug();
    await this.driver.start();
  }

  async stop(): Promise<void> {
    await this.driver.stop();
    await this.unplug();
  }

  /** Starts socat (the scanner appears). */
  async plug(): Promise<void> {
    if (this.socat) return;
    const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.hostLink}`, `pty,raw,echo=0,link=${this.deviceLink}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.socat = child;
    try {
      await socatReady(child);
      // O_NOCTTY: a pty opened by a process without a controlling terminal would otherwise become its terminal.
      this.writer = await open(this.deviceLink, fsConstants.O_WRONLY | fsConstants.O_NOCTTY);
    } catch (err) {
      await this.unplug();
      throw err;
    }
  }

  /** Stops socat by PID (the scanner vanishes; the driver sees its port close). */
  async unplug(): Promise<void> {
    const child = this.socat;
    this.socat = undefined;
    const writer = this.writer;
    this.writer = undefined;
    await writer?.close();
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
  }

  /** Writes `text` (UTF-8) and the suffix into the scanner end, in chunks. Resolves when the last write is done. */
  async type(text: string, options: TypeOptions = {}): Promise<void> {
    const writer = this.writer;
    if (!writer) throw new KioskError('USAGE', 'the simulated serial scanner is not plugged in');
    const bytes = Buffer.concat([Buffer.from(text, 'utf8'), options.suffix === false ? new Uint8Array(0) : this.suffixBytes]);
    const size = options.chunkSize ?? this.chunkSize;
    const pause = options.chunkDelayMs ?? this.chunkDelayMs;
    for (let at = 0; at < bytes.length; at += size) {
      if (at > 0 && pause > 0) await sleep(pause);
      await writer.write(bytes.subarray(at, at + size));
    }
  }
}

/** Resolves once socat has both ptys and links set up (it says "starting data transfer loop" at -d -d). */
function socatReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining stderr so socat never blocks on a full pipe.
      child.stderr?.resume();
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('starting data transfer loop')) done();
    };
    const onExit = (code: number | null): void => done(new KioskError('USAGE', `socat exited (${code}) before its ptys were ready: ${log.trim().slice(-300)}`));
    const onError = (err: Error): void => done(new KioskError('USAGE', `socat could not be started: ${err.message}`, { cause: err }));
    const timer = setTimeout(() => done(new KioskError('USAGE', `socat did not set up its ptys within ${SOCAT_READY_MS} ms`)), SOCAT_READY_MS);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

const RELEASE = (): Uint8Array => new Uint8Array(8);

function keyReport(modifiers: number, usage: number): Uint8Array {
  const report = RELEASE();
  report[0] = modifiers;
  report[2] = usage;
  return report;
}

/** Character -> key; the first usage wins, so digits and symbols come from the main block, not the keypad. */
function reverseLayout(layout: KeyboardLayout): Map<string, { usage: number; shift: boolean }> {
  const keys = new Map<string, { usage: number; shift: boolean }>();
  for (const [usage, [plain, shifted]] of layout) {
    if (!keys.has(plain)) keys.set(plain, { usage, shift: false });
    if (!keys.has(shifted)) keys.set(shifted, { usage, shift: true });
  }
  return keys;
}

/**
 * The boot-protocol reports a keyboard-wedge scanner sends for `text` and Enter: each key pressed then released;
 * characters outside the layout as Alt+numpad with their decimal code point.
 */
export function textToKeyboardReports(text: string, layout: KeyboardLayout = US_LAYOUT): Uint8Array[] {
  const keys = reverseLayout(layout);
  const reports: Uint8Array[] = [];
  for (const char of text) {
    const key = keys.get(char);
    if (key) {
      reports.push(keyReport(key.shift ? MODIFIER.leftShift : 0, key.usage), RELEASE());
      continue;
    }
    reports.push(keyReport(MODIFIER.leftAlt, 0));
    for (const digit of String(char.codePointAt(0))) reports.push(keyReport(MODIFIER.leftAlt, keypadDigitUsage(Number(digit))), keyReport(MODIFIER.leftAlt, 0));
    reports.push(RELEASE());
  }
  reports.push(keyReport(0, USAGE_ENTER), RELEASE());
  return reports;
}

/** A keyboard-wedge scanner without hardware: reports from textToKeyboardReports through the real decoder. */
export class SimulatedHidScanner extends QrScanner {
  readonly source: ScanSource = { transport: 'hid-keyboard', device: 'simulated-hid' };
  private readonly decoder: KeyboardWedgeDecoder;
  private readonly layout: KeyboardLayout;
  private running = false;

  constructor(options: KeyboardWedgeOptions = {}) {
    super();
    this.layout = options.layout ?? US_LAYOUT;
    this.decoder = new KeyboardWedgeDecoder(options);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.emit('attached', this.source.device);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.decoder.reset();
    this.emit('detached', this.source.device);
  }

  /** Sends `text` and Enter as key reports. */
  async type(text: string): Promise<void> {
    for (const report of textToKeyboardReports(text, this.layout)) this.feed(report);
  }

  /** Sends one raw report, as the device would (any bytes: the decoder must cope). */
  feed(report: Uint8Array): void {
    if (!this.running) throw new KioskError('USAGE', 'the simulated HID scanner is not started');
    for (const result of this.decoder.push(report)) this.deliver(result);
  }
}
