import { describe, expect, it } from 'vitest';
import type { KioskError } from '@kiosk/common';
import { Backoff, SerialScanner } from '../../src/qr/index.js';

describe('SerialScanner without a device', () => {
  it.each([
    ['a zero baud rate', { baudRate: 0 }],
    ['a zero idle timeout', { idleTimeoutMs: 0 }],
    ['a zero inter-character timeout', { suffix: 'none' as const, interCharTimeoutMs: 0 }],
    ['a max delay below the first', { reconnect: { initialDelayMs: 100, maxDelayMs: 10 } }],
  ])('rejects %s as a configuration error', (_name, options) => {
    expect(() => new SerialScanner({ path: '/dev/null', ...options })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { device: 'qr-scanner', problem: 'options' } }));
  });

  it('reports a port that does not exist as a typed error and stays detached', async () => {
    const scanner = new SerialScanner({ path: '/dev/kiosk-no-such-scanner', reconnect: false });
    const errors: KioskError[] = [];
    scanner.on('error', (e) => errors.push(e));
    await scanner.start();
    expect(scanner.isAttached).toBe(false);
    expect(errors.map((e) => [e.code, e.details?.problem])).toEqual([['QR_SCANNER_NOT_FOUND', 'open-failed']]);
    await scanner.stop();
  });
});

describe('Backoff', () => {
  it('doubles up to the cap and starts over after a reset', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 500 });
    expect([backoff.delay(), backoff.delay(), backoff.delay(), backoff.delay()]).toEqual([100, 200, 400, 500]);
    backoff.reset();
    expect(backoff.delay()).toBe(100);
  });
});
