import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { KioskError } from '@kiosk/common';
import { SimulatedSerialScanner, parseCccdQr, preciseNow, socatMissing, type QrScanner, type QrScannerEvents, type ScanEvent, type SimulatedSerialScannerOptions } from '../../src/qr/index.js';
import { PERSONA_QR, TODAY } from './persona.js';

const missing = socatMissing();
if (missing) {
  if (process.env.CI === 'true') throw new Error(`serial scanner integration tests must run in CI, but: ${missing}`);
  console.error(`\n*** SKIPPING serial scanner integration tests: ${missing} ***\n`);
}

/** The next `name` event's arguments; rejects on timeout, or on an 'error' while waiting for anything else. */
async function nextEvent<K extends keyof QrScannerEvents>(scanner: QrScanner, name: K, timeoutMs = 3000): Promise<QrScannerEvents[K]> {
  return (await once(scanner, name, { signal: AbortSignal.timeout(timeoutMs) })) as QrScannerEvents[K];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

describe.skipIf(missing !== undefined)('SerialScanner through a socat pty pair', () => {
  const running: SimulatedSerialScanner[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  async function started(options: SimulatedSerialScannerOptions = {}): Promise<{ scanner: SimulatedSerialScanner; scans: ScanEvent[]; errors: KioskError[] }> {
    const scanner = new SimulatedSerialScanner(options);
    running.push(scanner);
    const scans: ScanEvent[] = [];
    const errors: KioskError[] = [];
    scanner.on('scan', (e) => scans.push(e));
    scanner.on('error', (e) => errors.push(e));
    const attached = nextEvent(scanner, 'attached');
    await scanner.start();
    await attached;
    return { scanner, scans, errors };
  }

  it('delivers the persona QR intact, written in 7-byte chunks, and it parses', async () => {
    const { scanner, errors } = await started();
    const scan = nextEvent(scanner, 'scan');
    await scanner.type(PERSONA_QR);
    const [event] = await scan;
    expect(event.text).toBe(PERSONA_QR);
    expect(event.source).toEqual({ transport: 'serial', device: scanner.hostLink });
    const qr = parseCccdQr(event.text, { today: TODAY });
    expect(qr.fullName).toBe('Nguyễn Thị Thu Hường');
    expect(qr.sex).toBe('female');
    expect(errors).toEqual([]);
  });

  it('reassembles multibyte characters split across separate writes (1 and 2 bytes, 15 ms apart)', async () => {
    const { scanner, scans, errors } = await started();
    const name = 'Nguyễn Thị Thu Hường';
    for (const chunkSize of [1, 2]) {
      const scan = nextEvent(scanner, 'scan');
      await scanner.type(name, { chunkSize, chunkDelayMs: 15 });
      await scan;
    }
    expect(scans.map((s) => s.text)).toEqual([name, name]);
    expect(errors).toEqual([]);
  });

  it('discards a code without suffix at the idle timeout: no scan, an incomplete error', async () => {
    const { scanner, scans, errors } = await started({ idleTimeoutMs: 100 });
    const error = nextEvent(scanner, 'error');
    await scanner.type(PERSONA_QR.slice(0, 60), { suffix: false });
    const [err] = await error;
    expect(err.details).toMatchObject({ problem: 'incomplete', bytes: Buffer.byteLength(PERSONA_QR.slice(0, 60)) });
    await new Promise((r) => setTimeout(r, 150));
    expect(scans).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it('reports the port vanishing (socat killed), re-attaches on the same symlink, and scans again', async () => {
    const { scanner, scans, errors } = await started({ reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const pid = scanner.socatPid;
    const detached = nextEvent(scanner, 'detached');
    await scanner.unplug();
    expect(await detached).toEqual([scanner.hostLink]);
    expect(errors.map((e) => [e.code, e.details?.problem])).toEqual([['QR_SCANNER_DISCONNECTED', 'disconnected']]);

    const attached = nextEvent(scanner, 'attached', 5000);
    await scanner.plug();
    expect(scanner.socatPid).not.toBe(pid);
    await attached;
    const scan = nextEvent(scanner, 'scan');
    await scanner.type(PERSONA_QR);
    await scan;
    expect(scans.map((s) => s.text)).toEqual([PERSONA_QR]);
    // One error per outage, not one per failed reopen.
    expect(errors).toHaveLength(1);
  });

  it('measures latency from write to scan (printed, not asserted)', async () => {
    const { scanner } = await started();
    const whole: number[] = [];
    const chunked: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (const [samples, chunkSize] of [[whole, 4096], [chunked, 7]] as const) {
        const scan = nextEvent(scanner, 'scan');
        const before = preciseNow();
        await scanner.type(PERSONA_QR, { chunkSize, chunkDelayMs: 0 });
        const [event] = await scan;
        samples.push(preciseNow() - before);
        expect(event.receivedAt).toBeGreaterThanOrEqual(before);
      }
    }
    const bytes = Buffer.byteLength(PERSONA_QR) + 1;
    console.log(
      `[qr-serial latency] ${bytes}-byte CCCD QR through socat pty, write start -> 'scan' handler: ` +
        `one write median ${median(whole).toFixed(2)} ms (max ${Math.max(...whole).toFixed(2)}); ` +
        `7-byte writes median ${median(chunked).toFixed(2)} ms (max ${Math.max(...chunked).toFixed(2)}); 20 runs each`,
    );
  });
});
