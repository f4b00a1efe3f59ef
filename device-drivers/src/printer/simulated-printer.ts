/**
 * A printer in memory: interprets the ESC/POS it is sent into page PNGs, so kiosk flows and tickets can be checked
 * (and looked at) without hardware, and takes commands to go out of paper, offline or into error like a real one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KioskError, isKioskError } from '@kiosk/common';
import { renderEscPos } from './escpos-render.js';
import { StatusEmitter, printerError, type PrinterStatus, type ReceiptPrinter } from './printer.js';

export interface SimulatedPrinterOptions {
  /** 576 for 80 mm paper (default), 384 for 58 mm. */
  paperWidthDots?: number;
  /** Pages kept in memory, oldest dropped first (default 10). */
  keepPages?: number;
}

export interface PrintedPage {
  /** 1-based count of pages printed since the printer was created. */
  sequence: number;
  png: Buffer;
}

export class SimulatedPrinter extends StatusEmitter implements ReceiptPrinter {
  readonly paperWidthDots: number;
  private readonly keepPages: number;
  private readonly kept: PrintedPage[] = [];
  private printedCount = 0;

  constructor(options: SimulatedPrinterOptions = {}) {
    super('ready');
    this.paperWidthDots = options.paperWidthDots ?? 576;
    this.keepPages = options.keepPages ?? 10;
  }

  /** Puts the printer in a state, as the hardware would on paper-out, cable pull or fault; 'ready' recovers. */
  simulate(status: PrinterStatus): void {
    this.setStatus(status, status === 'ready' ? undefined : printerError(status === 'paper-out' ? 'paper-out' : 'not-ready', `simulated printer is ${status}`));
  }

  async print(bytes: Uint8Array): Promise<void> {
    const status = this.status();
    if (status !== 'ready') throw printerError(status === 'paper-out' ? 'paper-out' : 'not-ready', `printer is ${status}`, { details: { status } });
    if (bytes.length === 0) throw printerError('bad-job', 'a print job must have bytes');
    let pngs: Buffer[];
    try {
      pngs = await renderEscPos(bytes, { paperWidthDots: this.paperWidthDots });
    } catch (err) {
      // Bytes a real printer would choke on: the caller's bug, kept as ESCPOS_MALFORMED (reason 'bad-job').
      if (isKioskError(err, 'ESCPOS_MALFORMED')) throw new KioskError('ESCPOS_MALFORMED', err.message, { cause: err, details: { ...err.details, reason: 'bad-job' } });
      throw err;
    }
    for (const png of pngs) this.kept.push({ sequence: ++this.printedCount, png });
    this.kept.splice(0, Math.max(0, this.kept.length - this.keepPages));
  }

  /** The kept pages, oldest first. */
  pages(): readonly PrintedPage[] {
    return [...this.kept];
  }

  /** Writes the kept pages as page-<sequence>.png into `folder` (created if missing); returns the paths. */
  async writePages(folder: string): Promise<string[]> {
    await mkdir(folder, { recursive: true });
    return Promise.all(
      this.kept.map(async (page) => {
        const path = join(folder, `page-${String(page.sequence).padStart(4, '0')}.png`);
        await writeFile(path, page.png);
        return path;
      }),
    );
  }
}
