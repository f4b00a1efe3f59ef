import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TransactionStore } from '@kiosk/store';
import type { Contracts } from '../src/contracts/index.js';
import { Relay, type RelayEvents } from '../src/relay/relay.js';
import type { ClientTlsSource } from '../src/tls/index.js';
import { HttpsUpstreamTransport } from '../src/transport/index.js';
import { ContractServer, type ContractServerOptions } from './contract-server.js';
import { OPENSSL, startOpensslUpstream } from './tls-harness.js';
import { capturedLog, installClientCert, loadContracts, openStore, pki, pkiFolder, sampleTransaction, tlsSource, transportFor } from './transport-fixtures.js';

// What stops an upstream instead of retrying it: our credentials refused (HTTP 401/403, a TLS alert, an expired
// certificate) and a server that is not the one we pin. And the hot reload of the client certificate.

let dir: string;
let contracts: Contracts;
let store: TransactionStore;
const cleanup: Array<() => unknown> = [];
const quiet = capturedLog().log;

beforeAll(async () => {
  dir = await pkiFolder();
  contracts = await loadContracts();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  store = openStore(dir.concat('/', String(Math.random()).slice(2)));
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  store.close();
});

async function server(options: Partial<ContractServerOptions> = {}): Promise<ContractServer> {
  const s = await ContractServer.start({ upstream: 'city-tthc', contracts, pki, ...options });
  cleanup.push(() => s.close());
  return s;
}

function client(stem = 'device'): { source: ClientTlsSource; folder: string } {
  const made = tlsSource(dir, stem);
  cleanup.push(() => made.source.close());
  return made;
}

function transport(s: ContractServer, source: ClientTlsSource, host?: string): HttpsUpstreamTransport {
  const t = transportFor(s, 'city-tthc', source, quiet, { contracts, ...(host ? { host } : {}) });
  cleanup.push(() => t.close());
  return t;
}

/** Records `count` deliveries, runs one relay round, and returns the relay's alerts and the upstream's health. */
async function oneRound(t: HttpsUpstreamTransport, count = 3): Promise<{ alerts: RelayEvents['alert'][0][]; relay: Relay }> {
  for (let n = 0; n < count; n += 1) store.recordTransaction(sampleTransaction('city-tthc', n));
  const relay = new Relay({ store, upstreams: [t], log: quiet });
  const alerts: RelayEvents['alert'][0][] = [];
  relay.on('alert', (a) => alerts.push(a));
  expect(await relay.round()).toEqual({ delivered: 0, retried: 0, deadLettered: 0, bookkeepingFailed: 0 });
  expect(relay.upstreamHealth()['city-tthc']).toMatchObject({ state: 'stopped' });
  // No attempt spent: the deliveries wait, pending, for the new certificate.
  expect(store.outboxStatus()['city-tthc']).toMatchObject({ pending: count, deadLettered: 0 });
  return { alerts, relay };
}

describe('credentials refused: the upstream stops with one alert', () => {
  for (const status of [401, 403]) {
    it(`HTTP ${status}`, async () => {
      const s = await server({ fault: () => ({ status, body: { title: 'no', status, code: 'DEVICE_REVOKED', detail: 'device not enrolled' } }) });
      const { alerts } = await oneRound(transport(s, client().source));
      expect(alerts).toEqual([{ upstream: 'city-tthc', reason: `HTTP ${status}: DEVICE_REVOKED: device not enrolled` }]);
    });
  }

  it('a client certificate of a foreign CA: the upstream answers 401 naming why', async () => {
    const s = await server();
    const { alerts } = await oneRound(transport(s, client('device-foreign-ca').source));
    expect(alerts[0]!.reason).toMatch(/^HTTP 401: CLIENT_CERT_REFUSED: client certificate refused: /);
  });

  it.skipIf(!OPENSSL)('a revoked client certificate refused with a TLS alert (OpenSSL server): SYNC_CLIENT_CERT_REJECTED', async () => {
    const openssl = await startOpensslUpstream(dir);
    cleanup.push(() => openssl.close());
    const t = new HttpsUpstreamTransport({ upstream: 'city-tthc', endpoint: { url: `https://127.0.0.1:${openssl.port}`, timeoutMs: 5000 }, concurrency: 2, tls: client('device-revoked').source, contracts, deviceId: pki.deviceId, log: quiet });
    cleanup.push(() => t.close());
    const { alerts } = await oneRound(t);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ upstream: 'city-tthc', code: 'SYNC_CLIENT_CERT_REJECTED' });
    expect(alerts[0]!.reason).toMatch(/^SYNC_CLIENT_CERT_REJECTED: .*certificate revoked/);
  });

  it('an expired client certificate is never presented: SYNC_CERT_EXPIRED, nothing sent', async () => {
    const s = await server();
    const { alerts } = await oneRound(transport(s, client('device-expired').source));
    expect(alerts[0]).toMatchObject({ code: 'SYNC_CERT_EXPIRED' });
    expect(s.received).toHaveLength(0);
  });
});

describe('a server that is not the one we pin: stopped, never retried blindly', () => {
  const cases: Array<[string, keyof typeof pki.servers, string]> = [
    ['a certificate for another host', 'wrongHost', 'SYNC_UPSTREAM_WRONG_HOST'],
    ['a certificate of a CA other than the pinned one', 'foreignCa', 'SYNC_UPSTREAM_UNTRUSTED'],
    ['an expired server certificate', 'expired', 'SYNC_UPSTREAM_CERT_EXPIRED'],
  ];
  for (const [what, identity, code] of cases) {
    it(`${what}: ${code}`, async () => {
      const s = await server({ identity: pki.servers[identity] });
      const { alerts } = await oneRound(transport(s, client().source));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ upstream: 'city-tthc', code });
      expect(alerts[0]!.reason.startsWith(`${code}: `)).toBe(true);
      expect(s.received).toHaveLength(0);
    });
  }

  it('a base URL by host name ("localhost", in the certificate) connects and delivers', async () => {
    const s = await server();
    store.recordTransaction(sampleTransaction('city-tthc', 0));
    expect((await transport(s, client().source, 'localhost').send(store.claimDue({ upstream: 'city-tthc' })))[0]).toMatchObject({ status: 201 });
  });
});

describe('hot reload of the client certificate', () => {
  it('after the files are replaced the next request presents the new certificate, and the old idle connection is closed', async () => {
    const s = await server();
    const { source, folder } = client();
    const t = transport(s, source);
    for (let n = 0; n < 2; n += 1) store.recordTransaction(sampleTransaction('city-tthc', n));
    await t.send(store.claimDue({ upstream: 'city-tthc', limit: 1 }));
    expect(BigInt(`0x${s.received[0]!.serial}`)).toBe(pki.clients.device.serialNumber);
    expect(s.open).toBe(1);
    const reloaded = once(source, 'reloaded');
    installClientCert(dir, 'device-renewed', folder);
    await reloaded;
    await vi.waitFor(() => expect(s.open).toBe(0));
    await t.send(store.claimDue({ upstream: 'city-tthc', limit: 1 }));
    expect(BigInt(`0x${s.received[1]!.serial}`)).toBe(pki.clients.renewed.serialNumber);
    expect(s.connections).toBe(2);
  });
});
