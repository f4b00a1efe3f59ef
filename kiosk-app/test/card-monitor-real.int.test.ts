import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError, type KioskError, type Logger } from '@kiosk/common';
import { ProbeCard } from '@kiosk/device-drivers';
import { PcscHarness, pcscSkipReason, vpcdReaderName, type InsertedCard } from '@kiosk/device-drivers/testing';
import { CardMonitor, type KioskEvent } from '../src/service/card-monitor.js';

/** A logger that keeps the warnings (the refusal is logged for staff) and drops the rest. */
function recordingLog(): { log: Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  const log = { info: () => undefined, error: () => undefined, warn: (obj: Record<string, unknown>) => warnings.push(obj) } as unknown as Logger;
  return { log, warnings };
}

/** What openCardSession gives once the monitor has seen the card (it says CARD_REMOVED before that). */
async function sessionOutcome(monitor: CardMonitor): Promise<KioskError | 'session'> {
  for (;;) {
    try {
      await (await monitor.openCardSession()).close();
      return 'session';
    } catch (err) {
      if (!isKioskError(err, 'CARD_REMOVED')) return err as KioskError;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The kiosk's card monitor with devices.mode 'real' on a machine where the vsmartcard-vpcd readers exist: a card in
// "Virtual PCD 00 00" must not reach the kiosk even when devices.cardReader ("00 00") matches that reader's name.
describe.skipIf(pcscSkipReason())('kiosk card monitor in real mode refuses virtual readers', () => {
  let harness: PcscHarness;
  let inserted: InsertedCard | undefined;
  let monitor: CardMonitor | undefined;
  beforeAll(async () => {
    harness = await PcscHarness.start();
  });
  afterEach(async () => {
    await monitor?.stop();
    await inserted?.remove();
    monitor = undefined;
    inserted = undefined;
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('real mode: the card in the virtual reader gives no card event, no listed reader, and CARD_READER_REFUSED on a read', async () => {
    const { log, warnings } = recordingLog();
    monitor = await CardMonitor.start('real', log, '00 00');
    const events: KioskEvent[] = [];
    monitor.on('event', (e) => events.push(e));
    inserted = await harness.insert(new ProbeCard(), 0);
    const outcome = await sessionOutcome(monitor);
    expect(isKioskError(outcome, 'CARD_READER_REFUSED')).toBe(true);
    expect((outcome as KioskError).details).toEqual({ reader: vpcdReaderName(0) });
    expect(events.filter((e) => e.type === 'card-inserted')).toEqual([]);
    expect(monitor.status()[0]).toMatchObject({ mode: 'real', state: 'ready', readers: [] });
    expect(warnings).toContainEqual({ reader: vpcdReaderName(0), code: 'CARD_READER_REFUSED' });
  });

  it('control: the same configuration in simulated mode reads that card', async () => {
    monitor = await CardMonitor.start('simulated', recordingLog().log, '00 00');
    const events: KioskEvent[] = [];
    monitor.on('event', (e) => events.push(e));
    inserted = await harness.insert(new ProbeCard(), 0);
    expect(await sessionOutcome(monitor)).toBe('session');
    expect(events).toContainEqual({ type: 'card-inserted', reader: vpcdReaderName(0) });
    expect(monitor.status()[0]?.readers).toEqual([{ name: vpcdReaderName(0), cardPresent: true }]);
  });
});
