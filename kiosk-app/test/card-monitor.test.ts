import { describe, expect, it } from 'vitest';
import { createLogger, isKioskError, loadConfig } from '@kiosk/common';
import { CardMonitor } from '../src/service/card-monitor.js';

const log = createLogger({ name: 'test', level: 'silent' });

// The configuration check of real mode happens before the monitor touches PC/SC, so it needs no pcscd; the
// refusal of a virtual reader with a card in it is in card-monitor-real.int.test.ts.
describe('CardMonitor start-up in real mode', () => {
  it('refuses an empty devices.cardReader (CONFIG_INVALID): real mode never takes "any reader"', async () => {
    const { mode, cardReader } = loadConfig({ env: { KIOSK_DEVICES_MODE: 'real' } }).devices;
    await expect(CardMonitor.start(mode, log, cardReader)).rejects.toSatisfy(
      (e: unknown) => isKioskError(e, 'CONFIG_INVALID') && (e as Error).message.includes('devices.cardReader (KIOSK_DEVICES_CARD_READER) is empty'),
    );
  });

  it('refuses a devices.cardReader that names a virtual reader (CARD_READER_REFUSED)', async () => {
    const { mode, cardReader } = loadConfig({ env: { KIOSK_DEVICES_MODE: 'real', KIOSK_DEVICES_CARD_READER: 'Virtual PCD' } }).devices;
    await expect(CardMonitor.start(mode, log, cardReader)).rejects.toSatisfy((e: unknown) => isKioskError(e, 'CARD_READER_REFUSED'));
  });
});
