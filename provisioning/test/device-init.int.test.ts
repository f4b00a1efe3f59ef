import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '@kiosk/common';
import { ClientTlsSource } from '@kiosk/sync-agent';
import { DevCa } from '../src/ca/dev-ca.js';
import { startEstServer, type EstServer } from '../src/ca/est-server.js';
import { tempCaDir } from './ca-helpers.js';
import { tempToken } from './pkcs11/softhsm.js';

/**
 * `kiosk-provision init | renew | status` as a technician runs them: the real CLI in a child process against a real
 * development CA serving EST over HTTPS on 127.0.0.1, each device in its own temp folder.
 */

const bin = fileURLToPath(new URL('../bin/kiosk-provision.js', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const failure = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: failure ? (failure.code ?? null) : 0, signal: failure?.signal ?? null, stdout, stderr });
    });
  });
}

let ca: DevCa;
let server: EstServer;

beforeAll(async () => {
  ca = await DevCa.open(tempCaDir());
  server = await startEstServer(ca, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server.close();
  ca.close();
});

function device(): { dir: string; upstreamCa: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiosk-device-'));
  // The upstream pin is any CA file the technician is given; the dev CA's own certificate stands in for it here.
  return { dir, upstreamCa: join(ca.dir, 'ca.cert.pem') };
}

const initArgs = (token: string, upstreamCa: string, fingerprint = ca.fingerprint256): string[] => [
  'init', '--site', 'hn-badinh', '--profile', 'one-stop', '--enroll', server.url, `--token=${token}`, '--ca-fingerprint', fingerprint, '--upstream-ca', upstreamCa,
];

const newToken = (): string => ca.createToken({ site: 'hn-badinh', profile: 'one-stop', ttlMs: 3_600_000 }).token;

describe('kiosk-provision init with a file key', () => {
  it('enrolls end to end: valid configuration, 0600 keys, a certificate that openssl verifies against the CA; a re-run changes nothing', async () => {
    const { dir, upstreamCa } = device();
    const first = await cli(dir, initArgs(newToken(), upstreamCa));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (let step = 1; step <= 8; step++) expect(first.stdout).toMatch(new RegExp(`\\[${step}/8\\] \\S+ \\.\\.\\. done`));
    const config = configSchema.parse(JSON.parse(readFileSync(join(dir, 'kiosk.config.json'), 'utf8')));
    expect(config.device).toMatchObject({ site: 'hn-badinh', profile: 'public-service' });
    expect(config.device.id).toMatch(/^hn-badinh-/);
    for (const file of [config.sync.clientKey, config.store.keyFile, config.store.signingKeyFile]) expect(statSync(join(dir, file)).mode & 0o077).toBe(0);
    const certificate = new X509Certificate(readFileSync(join(dir, config.sync.clientCert)));
    expect(certificate.subject).toContain(`CN=${config.device.id}`);
    execFileSync('openssl', ['verify', '-CAfile', join(dir, 'data/sync/est-ca.pem'), join(dir, config.sync.clientCert)]);
    expect(readFileSync(join(dir, 'data/sync/device-identity.png')).subarray(1, 4).toString()).toBe('PNG');

    const again = await cli(dir, initArgs('spent-anyway', upstreamCa));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already enrolled');
    expect(new X509Certificate(readFileSync(join(dir, config.sync.clientCert))).serialNumber).toBe(certificate.serialNumber);

    const status = await cli(dir, ['status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ deviceId: config.device.id, site: 'hn-badinh', serial: certificate.serialNumber, key: { location: 'file' }, lastInit: { result: 'enrolled' } });
  });

  it.each([4, 5, 6, 7])('killed (SIGKILL) after step %i has a configuration only once step 7 (config) is done, and a re-run with the same token completes', async (step) => {
    const { dir, upstreamCa } = device();
    const token = newToken();
    const killed = await cli(dir, initArgs(token, upstreamCa), { KIOSK_PROVISION_STOP_AFTER: String(step) });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'kiosk.config.json'))).toBe(step === 7);
    const resumed = await cli(dir, initArgs(token, upstreamCa));
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`[${step}/8] `);
    expect(resumed.stdout).toContain('already done');
    configSchema.parse(JSON.parse(readFileSync(join(dir, 'kiosk.config.json'), 'utf8')));
  });

  it('a reused token, a wrong fingerprint and an unreachable CA each give one sentence, exit 1 and leave no configuration', async () => {
    const token = newToken();
    const { dir: good, upstreamCa } = device();
    expect((await cli(good, initArgs(token, upstreamCa))).code).toBe(0);
    const cases: [string[], string][] = [
      [initArgs(token, upstreamCa), 'PROVISION_TOKEN_USED'],
      [initArgs(newToken(), upstreamCa, 'AB'.repeat(32)), 'PROVISION_CA_PIN_MISMATCH'],
      [initArgs('no-such-token', upstreamCa), 'PROVISION_TOKEN_INVALID'],
      [[...initArgs(newToken(), upstreamCa).slice(0, 5), '--enroll', 'https://127.0.0.1:1', ...initArgs(newToken(), upstreamCa).slice(7)], 'PROVISION_EST_FAILED'],
    ];
    for (const [args, code] of cases) {
      const { dir } = device();
      const run = await cli(dir, args);
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`[${code}]`);
      expect(existsSync(join(dir, 'kiosk.config.json'))).toBe(false);
    }
  });
});

describe('kiosk-provision renew', () => {
  it('--force re-enrolls with the same subject and the agent-side ClientTlsSource reloads the new certificate', async () => {
    const { dir, upstreamCa } = device();
    expect((await cli(dir, initArgs(newToken(), upstreamCa))).code).toBe(0);
    const files = { clientCert: join(dir, 'data/sync/device.pem'), clientKey: join(dir, 'data/sync/device-key.pem'), upstreamCa: join(dir, 'data/sync/ca.pem') };
    const before = new X509Certificate(readFileSync(files.clientCert));
    const source = new ClientTlsSource(files, { debounceMs: 50 });
    try {
      const reloaded = new Promise<string>((resolve) => source.once('reloaded', (tls) => resolve(tls.certificate.serialNumber)));
      const notDue = await cli(dir, ['renew']);
      expect(notDue.stdout).toContain('not due');
      const renewed = await cli(dir, ['renew', '--force']);
      expect(renewed.stderr).toBe('');
      expect(renewed.code).toBe(0);
      const after = new X509Certificate(readFileSync(files.clientCert));
      expect(after.serialNumber).not.toBe(before.serialNumber);
      expect(after.subject).toBe(before.subject);
      expect((await reloaded).replace(/:/g, '').toUpperCase()).toBe(after.serialNumber.toUpperCase());
    } finally {
      source.close();
    }
  });
});

describe('kiosk-provision init with a SoftHSM2 token', () => {
  it('enrolls with the key generated in the token (no device private key in any file) and renews with it', async () => {
    const token = tempToken('kiosk-init');
    try {
      const { dir, upstreamCa } = device();
      const run = await cli(dir, [...initArgs(newToken(), upstreamCa), '--pkcs11-token', token.tokenLabel, '--pin-file', token.pinFile], { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF ?? '' });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const config = configSchema.parse(JSON.parse(readFileSync(join(dir, 'kiosk.config.json'), 'utf8')));
      expect(config.provisioning.pkcs11).toMatchObject({ tokenLabel: 'kiosk-init', pinFile: token.pinFile });
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'data/sync/est-ca.pem'), join(dir, config.sync.clientCert)]);
      const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      const withPrivateKey = files.filter((file) => readFileSync(join(file.parentPath, file.name)).toString('latin1').includes('PRIVATE KEY'));
      // Only the store's audit-signing key is a file (an Ed25519 key on the token would break libp11's TLS).
      expect(withPrivateKey.map((file) => join(file.parentPath, file.name))).toEqual([join(dir, config.store.signingKeyFile)]);
      const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF ?? '' };
      const status = JSON.parse((await cli(dir, ['status', '--json'], env)).stdout) as { key: { location: string }; serial: string };
      expect(status.key.location).toBe('pkcs11');
      // Renewal authenticates with the token key through OpenSSL's pkcs11 engine.
      const renewed = await cli(dir, ['renew', '--force'], env);
      expect(renewed.stderr).toBe('');
      expect(renewed.code).toBe(0);
      const after = new X509Certificate(readFileSync(join(dir, config.sync.clientCert)));
      expect(after.serialNumber).not.toBe(status.serial);
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'data/sync/est-ca.pem'), join(dir, config.sync.clientCert)]);
    } finally {
      token.remove();
    }
  });

  it('a missing token and a wrong PIN each give one sentence, exit 1 and leave no configuration', async () => {
    const token = tempToken('kiosk-pin');
    try {
      const wrongPin = join(token.dir, 'wrong.pin');
      writeFileSync(wrongPin, '000000', { mode: 0o600 });
      const cases: [string[], string][] = [
        [['--pkcs11-token', 'no-such-token', '--pin-file', token.pinFile], 'PKCS11_MODULE_UNAVAILABLE'],
        [['--pkcs11-token', token.tokenLabel, '--pin-file', wrongPin], 'PKCS11_LOGIN_FAILED'],
      ];
      for (const [extra, code] of cases) {
        const { dir, upstreamCa } = device();
        const run = await cli(dir, [...initArgs(newToken(), upstreamCa), ...extra]);
        expect(run.code).toBe(1);
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
        expect(run.stderr).toContain(`[${code}]`);
        expect(existsSync(join(dir, 'kiosk.config.json'))).toBe(false);
      }
    } finally {
      token.remove();
    }
  });
});
