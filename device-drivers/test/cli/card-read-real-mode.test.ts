import { afterEach, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { readCommand } from '../../src/cli/card-read-command.js';

// `kiosk-card read` with devices.mode 'real' (from the environment, as in a deployed kiosk): the reader must be
// named and must not be a virtual one. These refusals come before PC/SC is opened, so no pcscd is needed here;
// the refusal of a virtual reader found on PC/SC is in card-read-real-mode.int.test.ts.
const saved = { ...process.env };
afterEach(() => {
  for (const key of ['KIOSK_DEVICES_MODE', 'KIOSK_DEVICES_CARD_READER']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

const code = (c: string) => (e: unknown) => isKioskError(e, c as 'USAGE');

describe('kiosk-card read in real mode', () => {
  it('refuses to guess the reader: no --reader and an empty devices.cardReader is CONFIG_INVALID', async () => {
    process.env.KIOSK_DEVICES_MODE = 'real';
    delete process.env.KIOSK_DEVICES_CARD_READER;
    await expect(readCommand(['--can', '000123'], 'help')).rejects.toSatisfy(
      (e: unknown) => code('CONFIG_INVALID')(e) && (e as Error).message.includes('--reader or devices.cardReader (KIOSK_DEVICES_CARD_READER) is empty'),
    );
  });

  it('refuses a virtual reader named by --reader or by devices.cardReader (CARD_READER_REFUSED)', async () => {
    process.env.KIOSK_DEVICES_MODE = 'real';
    await expect(readCommand(['--reader', 'Virtual PCD 00 00', '--can', '000123'], 'help')).rejects.toSatisfy(code('CARD_READER_REFUSED'));
    process.env.KIOSK_DEVICES_CARD_READER = 'Virtual PCD';
    await expect(readCommand(['--can', '000123'], 'help')).rejects.toSatisfy(code('CARD_READER_REFUSED'));
  });
});
