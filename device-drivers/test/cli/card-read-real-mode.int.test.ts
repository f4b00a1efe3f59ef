import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeCard } from '../../src/smartcard/vpcd/probe-card.js';
import { PcscHarness, pcscSkipReason, vpcdReaderName } from '../../src/testing/index.js';

const run = promisify(execFile);
const kioskCard = fileURLToPath(new URL('../../bin/kiosk-card.js', import.meta.url));

async function kioskCardRead(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [kioskCard, 'read', '--wait', '2', ...args], { env: { ...process.env, ...env } });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

// `kiosk-card read` with devices.mode 'real' where only the vsmartcard-vpcd readers exist: a --reader that matches
// only virtual readers is refused, even with a card in them; in simulated mode the same command reaches the card.
describe.skipIf(pcscSkipReason())('kiosk-card read in real mode on PC/SC', () => {
  let harness: PcscHarness;
  beforeAll(async () => {
    harness = await PcscHarness.start();
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('refuses the virtual reader that --reader "00 00" matches (exit 1, CARD_READER_REFUSED)', async () => {
    const inserted = await harness.insert(new ProbeCard(), 0);
    try {
      const real = await kioskCardRead(['--reader', '00 00', '--can', '000123'], { KIOSK_DEVICES_MODE: 'real' });
      expect(real.code).toBe(1);
      expect(real.stderr).toContain(`error [CARD_READER_REFUSED]: reader "${vpcdReaderName(0)}" looks like a virtual reader`);
      // Control: simulated mode goes on to the card (the probe card is no eMRTD: its answer to the first eMRTD command fails the read).
      const simulated = await kioskCardRead(['--reader', '00 00', '--can', '000123'], { KIOSK_DEVICES_MODE: 'simulated' });
      expect(simulated).toEqual({ code: 1, stderr: expect.stringContaining('error [CARD_STATUS_ERROR]: SELECT EF.CardAccess') as unknown });
    } finally {
      await inserted.remove();
    }
  });
});
