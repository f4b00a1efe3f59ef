import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { classifyTlsError, loadClientTls, type ClientTlsOptions } from '../src/tls/index.js';
import { getPeer, OPENSSL, rawClientOptions, startOpensslUpstream, startUpstream, type UpstreamServer } from './tls-harness.js';

const pki = syncPki();
const dir = mkdtempSync(join(tmpdir(), 'sync-tls-'));
let upstream: UpstreamServer;
let device: ClientTlsOptions;

beforeAll(async () => {
  await writeSyncPkiFolder(dir, pki);
  device = loadClientTls({ clientCert: join(dir, 'device.pem'), clientKey: join(dir, 'device-key.pem'), upstreamCa: join(dir, 'ca.pem') }).options;
  upstream = await startUpstream(pki);
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one request and returns the classified error it failed with (the test fails if it succeeded). */
async function failure(run: () => Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> | undefined }> {
  const err: unknown = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the connection should have failed').toBeDefined();
  const classified = classifyTlsError(err);
  expect(classified, `unclassified: ${String(err)}`).toBeDefined();
  return { code: classified!.code, details: classified!.details };
}

async function withServer<T>(options: Parameters<typeof startUpstream>[1], run: (port: number) => Promise<T>): Promise<T> {
  const server = await startUpstream(pki, options);
  try {
    return await run(server.port);
  } finally {
    await server.close();
  }
}

describe('mTLS handshake with real servers on 127.0.0.1', () => {
  it('completes a mutual handshake: the server sees the device id as the client CN, over localhost and 127.0.0.1', async () => {
    const answer = await getPeer(upstream.port, device);
    expect(answer.subject).toBe(pki.deviceId);
    expect(BigInt(`0x${answer.serialNumber}`)).toBe(pki.clients.device.serialNumber);
    expect((await getPeer(upstream.port, device, 'localhost')).subject).toBe(pki.deviceId);
  });

  it('SYNC_UPSTREAM_UNTRUSTED: a server certificate from a CA other than the pinned one', async () => {
    const result = await withServer({ identity: pki.servers.foreignCa }, (port) => failure(() => getPeer(port, device)));
    expect(result.code).toBe('SYNC_UPSTREAM_UNTRUSTED');
  });

  it('SYNC_UPSTREAM_UNTRUSTED: the pinned CA replaces the system store, so even a server the device CA signed is refused', async () => {
    const pinnedDeviceCa = { ...device, ca: [pki.deviceCa.certificate] };
    expect((await failure(() => getPeer(upstream.port, pinnedDeviceCa))).code).toBe('SYNC_UPSTREAM_UNTRUSTED');
  });

  it('SYNC_UPSTREAM_WRONG_HOST: a server certificate of the pinned CA for another host', async () => {
    const result = await withServer({ identity: pki.servers.wrongHost }, (port) => failure(() => getPeer(port, device)));
    expect(result.code).toBe('SYNC_UPSTREAM_WRONG_HOST');
    expect(result.details).toMatchObject({ host: '127.0.0.1' });
  });

  it('SYNC_UPSTREAM_CERT_EXPIRED: an expired server certificate', async () => {
    const result = await withServer({ identity: pki.servers.expired }, (port) => failure(() => getPeer(port, device)));
    expect(result).toMatchObject({ code: 'SYNC_UPSTREAM_CERT_EXPIRED', details: { openssl: 'CERT_HAS_EXPIRED' } });
  });

  it.skipIf(!OPENSSL).each([
    ['foreignCa', 'unknown ca'],
    ['revoked', 'certificate revoked'],
    ['expired', 'certificate expired'],
    ['notYetValid', 'bad certificate'],
  ] as const)('SYNC_CLIENT_CERT_REJECTED: an OpenSSL server refuses the %s client certificate with the alert "%s"', async (name, alert) => {
    const server = await startOpensslUpstream(dir);
    try {
      const result = await failure(() => getPeer(server.port, rawClientOptions(pki, pki.clients[name])));
      expect(result).toMatchObject({ code: 'SYNC_CLIENT_CERT_REJECTED', details: { alert } });
    } finally {
      await server.close();
    }
  });

  it('a node:https server (requestCert, rejectUnauthorized, device CA + CRL) closes the connection of a revoked client certificate, with no alert', async () => {
    const err: unknown = await getPeer(upstream.port, rawClientOptions(pki, pki.clients.revoked)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
  });

  it('SYNC_TLS_PROTOCOL: a server that speaks at most TLS 1.1 is refused', async () => {
    const result = await withServer({ maxVersion: 'TLSv1.1' }, (port) => failure(() => getPeer(port, device)));
    expect(result.code).toBe('SYNC_TLS_PROTOCOL');
  });

  it('leaves errors that are not TLS failures to the relay (undefined), and passes KioskErrors through', async () => {
    await upstream.close();
    const refused: unknown = await getPeer(upstream.port, device).catch((e: unknown) => e);
    expect(classifyTlsError(refused)).toBeUndefined();
    upstream = await startUpstream(pki);
    expect(classifyTlsError(new Error('plain'))).toBeUndefined();
    expect(classifyTlsError('text')).toBeUndefined();
  });
});
