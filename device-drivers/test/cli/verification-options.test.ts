import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { verificationSetup } from '../../src/cli/verification-options.js';

const HELP = 'help text';
const code = (c: string) => (e: unknown) => isKioskError(e) && e.code === c;

describe('verificationSetup (options shared by kiosk-card read and verify)', () => {
  it('takes an existing trust folder, the policy and a date', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'trust-options-'));
    const setup = await verificationSetup({ trust: folder, policy: 'notary', at: '2026-01-15' }, HELP);
    expect(setup.policy.name).toBe('notary');
    expect(setup.at.toISOString()).toBe('2026-01-15T00:00:00.000Z');
    expect(setup.trust.cscas()).toEqual([]);
  });

  it('refuses a --trust that is missing or a file, instead of verifying against nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trust-options-'));
    const file = join(dir, 'csca.pem');
    writeFileSync(file, '');
    for (const trust of [join(dir, 'typo'), file]) await expect(verificationSetup({ trust }, HELP)).rejects.toSatisfy(code('CONFIG_FILE_UNREADABLE'));
  });

  it.each(['2026-02-30', '2026-13-01', '15.01.2026', '2026-1-5'])('refuses --at %s as a usage error', async (at) => {
    await expect(verificationSetup({ at }, HELP)).rejects.toSatisfy(code('USAGE'));
  });

  it('refuses an unknown policy as a usage error', async () => {
    await expect(verificationSetup({ policy: 'bank' }, HELP)).rejects.toSatisfy(code('USAGE'));
  });
});
