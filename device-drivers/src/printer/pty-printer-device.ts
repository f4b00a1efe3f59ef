/**
 * The simulated printer behind a device node: socat makes a pseudo-terminal pair; the kiosk's DevicePrinter
 * writes ESC/POS into one end (as into a serial receipt printer) and the SimulatedPrinter renders what arrives at
 * the other. The kiosk side thus runs its real driver against a real tty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants, openSync } from 'node:fs';
import { access, open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReadStream } from 'node:tty';
import { KioskError, isKioskError } from '@kiosk/common';
import type { SimulatedPrinter, PrintedPage } from './simulated-printer.js';

export interface PtyPrinterDeviceOptions {
  /** Where the device appears: a symlink to the kiosk end of the pty, the path the kiosk's printer config names. */
  devicePath: string;
  /** Renders the bytes; its keepPages must cover the pages of one burst of jobs (see `idleMs`). */
  printer: SimulatedPrinter;
  /**
   * Silence on the line after which the bytes received count as finished jobs (default 300 ms). A serial line
   * has no job boundaries; tickets end with a cut, which the renderer turns into page ends.
   */
  idleMs?: number;
}

export interface PtyPrinterDeviceEvents {
  /** A page came out (one per cut). */
  page: [PrintedPage];
  /** Bytes that did not render (malformed ESC/POS): what a real printer would print as garbage or skip. */
  error: [KioskError];
}

const LINKS_READY_MS = 5000;
const DEFAULT_IDLE_MS = 300;

export class PtyPrinterDevice extends EventEmitter<PtyPrinterDeviceEvents> {
  private socat: ChildProcess | undefined;
  private reader: ReadStream | undefined;
  private holder: FileHandle | undefined;
  private pending: Buffer[] = [];
  private idle: NodeJS.Timeout | undefined;
  private rendering: Promise<void> = Promise.resolve();
  private readonly printerEnd: string;

  constructor(private readonly options: PtyPrinterDeviceOptions) {
    super();
    this.printerEnd = `${options.devicePath}.printer-end`;
  }

  async start(): Promise<void> {
    const { devicePath } = this.options;
    const child = spawn('socat', [`pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${this.printerEnd}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.socat = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new KioskError('CONFIG_INVALID', `socat could not be started (is it installed?): ${err.message}`, { cause: err })));
      child.once('exit', (code) => reject(new KioskError('CONFIG_INVALID', `socat exited (${code}) before its ptys were ready: ${stderr.trim().slice(-300)}`)));
    });
    try {
      await Promise.race([this.linksReady(), exited]);
      // A tty stream reads without blocking a thread; O_NOCTTY: this pty must not become our controlling terminal.
      this.reader = new ReadStream(openSync(this.printerEnd, constants.O_RDONLY | constants.O_NOCTTY));
      this.reader.on('data', (chunk: Buffer) => this.received(chunk));
      // The kiosk opens and closes the device per job; holding it open keeps the pty (and socat) alive in between.
      this.holder = await open(devicePath, constants.O_RDWR | constants.O_NOCTTY);
    } catch (err) {
      await this.stop();
      throw err;
    }
    exited.catch(() => undefined);
  }

  /** Waits until socat has made both symlinks. */
  private async linksReady(): Promise<void> {
    const deadline = Date.now() + LINKS_READY_MS;
    for (;;) {
      const ready = await Promise.all([this.options.devicePath, this.printerEnd].map((path) => access(path).then(() => true, () => false)));
      if (ready.every(Boolean)) return;
      if (Date.now() > deadline) throw new KioskError('CONFIG_INVALID', `socat did not make its ptys within ${LINKS_READY_MS} ms`);
      await sleep(20);
    }
  }

  private received(chunk: Buffer): void {
    this.pending.push(chunk);
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.flush(), this.options.idleMs ?? DEFAULT_IDLE_MS);
  }

  /** Renders what has arrived; pages come out in order even when jobs follow each other closely. */
  private flush(): void {
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    if (bytes.length === 0) return;
    this.rendering = this.rendering.then(async () => {
      const { printer } = this.options;
      const before = printer.pages().at(-1)?.sequence ?? 0;
      try {
        await printer.print(bytes);
      } catch (err) {
        if (isKioskError(err)) this.emit('error', err);
        else throw err;
        return;
      }
      const fresh = printer.pages().filter((page) => page.sequence > before);
      const dropped = (fresh[0]?.sequence ?? before + 1) - before - 1;
      if (dropped > 0) this.emit('error', new KioskError('CONFIG_INVALID', `${dropped} pages of one burst were dropped: the printer keeps fewer pages (keepPages) than it was sent`));
      for (const page of fresh) this.emit('page', page);
    });
  }

  /** Renders anything still buffered, then stops socat (the device path disappears). */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    this.flush();
    await this.rendering;
    this.reader?.destroy();
    this.reader = undefined;
    await this.holder?.close();
    this.holder = undefined;
    const child = this.socat;
    this.socat = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    await gone;
  }
}
