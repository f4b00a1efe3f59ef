import { execFileSync } from 'node:child_process';
import { constants, open } from 'node:fs/promises';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cut, initialize, lineFeed, text } from '../../src/printer/escpos-encoder.js';
import { concatBytes } from '../../src/encoding/bytes.js';
import { DevicePrinter, printerFailureOf, type PrinterStatus } from '../../src/printer/printer.js';
import { SimulatedPrinter } from '../../src/printer/simulated-printer.js';

const job = concatBytes(initialize(), text('A023'), lineFeed(), cut());

function recordStatuses(printer: { on(event: 'status', listener: (status: PrinterStatus) => void): unknown }): PrinterStatus[] {
  const seen: PrinterStatus[] = [];
  printer.on('status', (status) => seen.push(status));
  return seen;
}

describe('DevicePrinter (a file stands in for the device node)', () => {
  it('writes the exact bytes, job after job', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'printer-'));
    const device = join(dir, 'lp0');
    await writeFile(device, '');
    const printer = new DevicePrinter({ path: device });
    await Promise.all([printer.print(job), printer.print(Uint8Array.of(0x1b, 0x40))]);
    expect([...(await readFile(device))]).toEqual([...job, 0x1b, 0x40]);
    expect(printer.status()).toBe('ready');
  });

  it('does not create a missing device: rejects with a typed error and goes offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'printer-'));
    const printer = new DevicePrinter({ path: join(dir, 'lp9') });
    const seen = recordStatuses(printer);
    const failure = await printer.print(job).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'PRINTER_OFFLINE' });
    expect(printerFailureOf(failure)).toBe('device-missing');
    expect(seen).toEqual(['offline']);
    await expect(readdir(dir)).resolves.toEqual([]);
  });

  it('comes back to ready once a job goes through', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'printer-'));
    const device = join(dir, 'lp0');
    const printer = new DevicePrinter({ path: device });
    const seen = recordStatuses(printer);
    await expect(printer.print(job)).rejects.toThrow();
    await writeFile(device, '');
    await printer.print(job);
    expect(seen).toEqual(['offline', 'ready']);
  });

  it('times out a write the device never takes (a FIFO nobody reads) and goes offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'printer-'));
    const device = join(dir, 'lp0');
    execFileSync('mkfifo', [device]);
    // A reader that never reads: the writer's open succeeds, then its write blocks once the pipe buffer is full.
    const reader = await open(device, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const printer = new DevicePrinter({ path: device, writeTimeoutMs: 200 });
      const seen = recordStatuses(printer);
      const failure = await printer.print(new Uint8Array(1 << 20)).catch((err: unknown) => err);
      expect(failure).toMatchObject({ code: 'PRINTER_OFFLINE' });
      expect(printerFailureOf(failure)).toBe('timeout');
      expect(seen).toEqual(['offline']);
      // The stuck write still owns the device: the next job is refused at once, not queued behind it.
      const refused = await printer.print(job).catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: 'PRINTER_NOT_READY' });
      expect(printerFailureOf(refused)).toBe('not-ready');
    } finally {
      await reader.close();
    }
  });

  it('rejects an empty job', async () => {
    const printer = new DevicePrinter({ path: '/nonexistent' });
    const failure = await printer.print(new Uint8Array()).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'USAGE' });
    expect(printerFailureOf(failure)).toBe('bad-job');
  });

  // root may write anything, so only an ordinary user can see the refusal.
  it.skipIf(process.getuid?.() === 0)('names a device it may not write to PRINTER_PERMISSION_DENIED', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'printer-'));
    const device = join(dir, 'lp0');
    await writeFile(device, '', { mode: 0o444 });
    const failure = await new DevicePrinter({ path: device }).print(job).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'PRINTER_PERMISSION_DENIED', details: { reason: 'permission-denied' } });
  });

  it('names any other write failure PRINTER_WRITE_FAILED (a directory for a device)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'printer-'));
    const failure = await new DevicePrinter({ path: dir }).print(job).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'PRINTER_WRITE_FAILED', details: { reason: 'write-failed' } });
  });
});

describe('SimulatedPrinter', () => {
  it('rejects printing when out of paper, with a typed error and a status event', async () => {
    const printer = new SimulatedPrinter();
    const seen = recordStatuses(printer);
    printer.simulate('paper-out');
    expect(printer.status()).toBe('paper-out');
    const failure = await printer.print(job).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'PRINTER_PAPER_OUT' });
    expect(printerFailureOf(failure)).toBe('paper-out');
    expect(printer.pages()).toHaveLength(0);
    printer.simulate('ready');
    await printer.print(job);
    expect(seen).toEqual(['paper-out', 'ready']);
    expect(printer.pages()).toHaveLength(1);
  });

  it('rejects jobs while offline and passes the reason with the event', async () => {
    const printer = new SimulatedPrinter();
    const events: unknown[] = [];
    printer.on('status', (status, error) => events.push([status, printerFailureOf(error)]));
    printer.simulate('offline');
    expect(events).toEqual([['offline', 'not-ready']]);
    expect(printerFailureOf(await printer.print(job).catch((err: unknown) => err))).toBe('not-ready');
  });

  it('keeps the last N pages and writes them to a folder', async () => {
    const printer = new SimulatedPrinter({ paperWidthDots: 384, keepPages: 2 });
    await printer.print(concatBytes(job, job, job));
    expect(printer.pages().map((p) => p.sequence)).toEqual([2, 3]);
    const dir = await mkdtemp(join(tmpdir(), 'pages-'));
    const paths = await printer.writePages(dir);
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(['page-0002.png', 'page-0003.png']);
    expect((await readFile(paths[0]!)).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('rejects malformed ESC/POS as ESCPOS_MALFORMED (a bad job) and stays ready', async () => {
    const printer = new SimulatedPrinter();
    const failure = await printer.print(Uint8Array.of(0x1d, 0x76, 0x30, 0, 9, 0, 9, 0)).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'ESCPOS_MALFORMED', details: { offset: 8 } });
    expect(printerFailureOf(failure)).toBe('bad-job');
    expect(printer.status()).toBe('ready');
  });
});
