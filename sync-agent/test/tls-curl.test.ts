import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { startUpstream, type UpstreamServer } from './tls-harness.js';

const run = promisify(execFile);
const CURL = ['/usr/bin/curl', '/usr/local/bin/curl'].find((path) => existsSync(path));
const pki = syncPki();

// The server is configured as the upstream simulators are: client certificate required, device CA and its CRL.
describe.skipIf(!CURL)('system curl against an mTLS upstream (skipped: no curl binary)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-tls-curl-'));
  let upstream: UpstreamServer;
  beforeAll(async () => {
    await writeSyncPkiFolder(dir, pki);
    upstream = await startUpstream(pki);
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function curl(client: string | undefined): Promise<{ exit: number; stdout: string }> {
    const certArgs = client === undefined ? [] : ['--cert', join(dir, `${client}.pem`), '--key', join(dir, `${client}-key.pem`)];
    try {
      const { stdout } = await run(CURL!, ['-sS', '--max-time', '20', '--cacert', join(dir, 'ca.pem'), ...certArgs, `https://localhost:${upstream.port}/`]);
      return { exit: 0, stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string };
      return { exit: e.code, stdout: e.stdout };
    }
  }

  it('answers curl with the device certificate', async () => {
    const ok = await curl('device');
    expect(ok.exit).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ subject: pki.deviceId });
  });

  it.each(['device-foreign-ca', 'device-revoked', 'device-expired', 'device-not-yet-valid', undefined])('refuses curl with the client certificate %s', async (client) => {
    const refused = await curl(client);
    expect(refused.exit).not.toBe(0);
    expect(refused.stdout).toBe('');
  });
});
