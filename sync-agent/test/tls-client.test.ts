import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError, type KioskError } from '@kiosk/common';
import { syncPki, writeSyncPkiFolder, type TlsIdentity } from '@kiosk/fixtures';
import { ClientTlsSource, loadClientTls, type ClientTlsFiles } from '../src/tls/index.js';
import { getPeer, startUpstream, type UpstreamServer } from './tls-harness.js';

const pki = syncPki();
const pkiDir = mkdtempSync(join(tmpdir(), 'sync-tls-pki-'));
const at = (name: string): string => join(pkiDir, name);
const files = (cert: string, key = cert.replace(/\.pem$/, '-key.pem'), ca = 'ca.pem'): ClientTlsFiles => ({ clientCert: at(cert), clientKey: at(key), upstreamCa: at(ca) });

beforeAll(async () => {
  await writeSyncPkiFolder(pkiDir, pki);
});
afterAll(() => rmSync(pkiDir, { recursive: true, force: true }));

function loadError(run: () => unknown): KioskError {
  try {
    run();
  } catch (err) {
    if (isKioskError(err)) return err;
    throw err;
  }
  throw new Error('expected a KioskError');
}

describe('loadClientTls', () => {
  it('gives node:tls options that pin the upstream CA alone, TLS 1.2 at least, and verify the server', () => {
    const { options, certificate } = loadClientTls(files('device.pem'));
    expect(options).toMatchObject({ minVersion: 'TLSv1.2', rejectUnauthorized: true, ca: [pki.serverCa.certificate.trim()] });
    expect(options.cert).toBe(pki.clients.device.certificate);
    expect(certificate.subject).toContain(`CN=${pki.deviceId}`);
    expect(certificate.notAfter.toISOString()).toBe('2044-12-31T23:59:59.000Z');
  });

  it('SYNC_CERT_EXPIRED and SYNC_CERT_NOT_YET_VALID carry the validity dates', () => {
    const expired = loadError(() => loadClientTls(files('device-expired.pem')));
    expect(expired.code).toBe('SYNC_CERT_EXPIRED');
    expect(expired.details).toMatchObject({ notAfter: '2023-05-31T23:59:59.000Z', path: at('device-expired.pem') });
    const early = loadError(() => loadClientTls(files('device-not-yet-valid.pem')));
    expect(early.code).toBe('SYNC_CERT_NOT_YET_VALID');
    expect(early.details).toMatchObject({ notBefore: '2045-01-01T00:00:00.000Z' });
    // The clock decides: the same certificate is current in 2046.
    expect(loadClientTls(files('device-not-yet-valid.pem'), new Date('2046-01-01T00:00:00Z')).certificate.notBefore.getUTCFullYear()).toBe(2045);
  });

  it('SYNC_CERT_KEY_MISMATCH: a key of another certificate', () => {
    expect(loadError(() => loadClientTls(files('device.pem', 'device-renewed-key.pem'))).code).toBe('SYNC_CERT_KEY_MISMATCH');
  });

  it('SYNC_TLS_FILE_UNREADABLE names the path: missing, unreadable, not PEM, or a leaf given as the CA', () => {
    const missing = loadError(() => loadClientTls(files('device.pem', 'no-such-key.pem')));
    expect(missing).toMatchObject({ code: 'SYNC_TLS_FILE_UNREADABLE', details: { path: at('no-such-key.pem'), reason: 'ENOENT' } });
    writeFileSync(at('garbage.pem'), 'not a certificate');
    expect(loadError(() => loadClientTls(files('garbage.pem', 'device-key.pem'))).details).toMatchObject({ path: at('garbage.pem') });
    expect(loadError(() => loadClientTls(files('device.pem', 'garbage.pem'))).details).toMatchObject({ path: at('garbage.pem') });
    const leafAsCa = loadError(() => loadClientTls(files('device.pem', 'device-key.pem', 'server.pem')));
    expect(leafAsCa.code).toBe('SYNC_TLS_FILE_UNREADABLE');
    expect(leafAsCa.message).toContain('not a CA certificate');
    if (process.getuid?.() !== 0) {
      chmodSync(at('garbage.pem'), 0o000);
      expect(loadError(() => loadClientTls(files('garbage.pem', 'device-key.pem'))).details).toMatchObject({ reason: 'EACCES' });
    }
  });
});

describe('ClientTlsSource hot reload', () => {
  let upstream: UpstreamServer;
  let dir: string;
  let source: ClientTlsSource;
  const install = (identity: TlsIdentity): void => {
    // As an installer does: write aside, then rename over the old file.
    writeFileSync(join(dir, 'device.pem.new'), identity.certificate);
    writeFileSync(join(dir, 'device-key.pem.new'), identity.privateKey, { mode: 0o600 });
    renameSync(join(dir, 'device-key.pem.new'), join(dir, 'device-key.pem'));
    renameSync(join(dir, 'device.pem.new'), join(dir, 'device.pem'));
  };
  const serialOf = (identity: TlsIdentity): string => identity.serialNumber.toString(16).toUpperCase();

  beforeAll(async () => {
    upstream = await startUpstream(pki);
    dir = mkdtempSync(join(tmpdir(), 'sync-tls-reload-'));
    copyFileSync(at('ca.pem'), join(dir, 'ca.pem'));
    install(pki.clients.device);
    source = new ClientTlsSource({ clientCert: join(dir, 'device.pem'), clientKey: join(dir, 'device-key.pem'), upstreamCa: join(dir, 'ca.pem') }, { debounceMs: 50 });
  });
  afterAll(async () => {
    source.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents a renewed certificate on the next connection once its files are replaced', async () => {
    expect((await getPeer(upstream.port, source.current().options)).serialNumber).toBe(serialOf(pki.clients.device));
    const reloaded = once(source, 'reloaded');
    install(pki.clients.renewed);
    await reloaded;
    expect((await getPeer(upstream.port, source.current().options)).serialNumber).toBe(serialOf(pki.clients.renewed));
  });

  it('keeps the working certificate when the new files are bad, and reports why', async () => {
    const failedExpired = once(source, 'reload-failed') as Promise<[KioskError]>;
    install(pki.clients.expired);
    expect((await failedExpired)[0].code).toBe('SYNC_CERT_EXPIRED');
    const failedGarbage = once(source, 'reload-failed') as Promise<[KioskError]>;
    writeFileSync(join(dir, 'device.pem'), 'truncated -----BEGIN CERTIFICATE-----');
    expect((await failedGarbage)[0].code).toBe('SYNC_TLS_FILE_UNREADABLE');
    expect(source.lastError?.code).toBe('SYNC_TLS_FILE_UNREADABLE');
    expect((await getPeer(upstream.port, source.current().options)).serialNumber).toBe(serialOf(pki.clients.renewed));
  });

  it('starts without a usable certificate and resumes when one is installed', async () => {
    const late = mkdtempSync(join(tmpdir(), 'sync-tls-late-'));
    const lateFiles = { clientCert: join(late, 'device.pem'), clientKey: join(late, 'device-key.pem'), upstreamCa: at('ca.pem') };
    const lateSource = new ClientTlsSource(lateFiles, { debounceMs: 50 });
    try {
      expect(loadError(() => lateSource.current()).code).toBe('SYNC_TLS_FILE_UNREADABLE');
      const reloaded = once(lateSource, 'reloaded');
      writeFileSync(lateFiles.clientKey, pki.clients.device.privateKey, { mode: 0o600 });
      writeFileSync(lateFiles.clientCert, pki.clients.device.certificate);
      await reloaded;
      expect((await getPeer(upstream.port, lateSource.current().options)).subject).toBe(pki.deviceId);
    } finally {
      lateSource.close();
      rmSync(late, { recursive: true, force: true });
    }
  });

  it('refuses the certificate in force once the clock passes its notAfter', () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const future = new ClientTlsSource(files('device.pem'), { now: () => clock });
    try {
      expect(future.current().certificate.subject).toContain(pki.deviceId);
      clock = new Date('2045-06-01T00:00:00Z');
      expect(loadError(() => future.current()).code).toBe('SYNC_CERT_EXPIRED');
    } finally {
      future.close();
    }
  });
});
