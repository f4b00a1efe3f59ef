import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransactionStore } from '@kiosk/store';
import { Reconciler } from '../src/relay/reconciler.js';
import { Relay } from '../src/relay/relay.js';
import type { ClientTlsSource } from '../src/tls/index.js';
import type { HttpsUpstreamTransport } from '../src/transport/index.js';
import { ContractServer } from './contract-server.js';
import { capturedLog, loadContracts, openStore, pki, pkiFolder, sampleTransaction, tlsSource, transportFor } from './transport-fixtures.js';

// An upstream restored from a backup forgets deliveries it had acknowledged (cht-core#8093). The reconciler notices
// from the count the upstream reports, asks which keys it lost, and the relay sends them again with the same keys.

let dir: string;
let store: TransactionStore;
let source: ClientTlsSource;
let server: ContractServer;
let transport: HttpsUpstreamTransport;
let clock: number;

beforeEach(async () => {
  dir = await pkiFolder();
  clock = Date.parse('2026-12-06T08:00:00Z');
  store = openStore(dir, () => clock);
  source = tlsSource(dir).source;
  const contracts = await loadContracts();
  server = await ContractServer.start({ upstream: 'city-tthc', contracts, pki });
  transport = transportFor(server, 'city-tthc', source, capturedLog().log, { contracts, concurrency: 8 });
});
afterEach(async () => {
  transport.close();
  await server.close();
  source.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Reconciler', () => {
  it('requeues what a restored upstream lost, the relay resends it under the same key, and a purged one is reported lost', async () => {
    const captured = capturedLog();
    const relay = new Relay({ store, upstreams: [transport], log: captured.log, batchSize: 200, now: () => clock });
    const reconciler = new Reconciler({ store, transports: [transport], log: captured.log });
    const lostEvents: unknown[] = [];
    reconciler.on('lost', (e) => lostEvents.push(e));

    // Two early deliveries whose payloads the retention purge has already erased, then 598 more.
    const early = store.recordMany([0, 1].map((n) => sampleTransaction('city-tthc', n)));
    await relay.drain();
    clock += 1000;
    store.purgeExpired(0);
    const later = store.recordMany(Array.from({ length: 598 }, (_, n) => sampleTransaction('city-tthc', n + 2)));
    await relay.drain();
    expect(await reconciler.afterRound('city-tthc')).toBeUndefined();

    // Restored from a backup: one early key and three later ones (one past the first page of 500) are gone.
    const keyOf = (t: { deliveries: Array<{ idempotencyKey: string }> }): string => t.deliveries[0]!.idempotencyKey;
    const lost = [keyOf(early[0]!), keyOf(later[10]!), keyOf(later[300]!), keyOf(later[550]!)];
    server.forget(lost);
    store.recordTransaction(sampleTransaction('city-tthc', 600));
    await relay.round();
    expect(transport.reportedReceived()).toBe(597);

    const checksBefore = server.received.filter((r) => r.path === '/deliveries/check').length;
    const result = await reconciler.afterRound('city-tthc');
    expect(result).toMatchObject({ checked: 601 });
    expect(result!.requeued).toHaveLength(3);
    expect(result!.erased).toEqual([early[0]!.deliveries[0]!.id]);
    expect(server.received.filter((r) => r.path === '/deliveries/check').length - checksBefore).toBe(2);
    expect(lostEvents).toEqual([{ upstream: 'city-tthc', ids: [early[0]!.deliveries[0]!.id] }]);
    expect(captured.lines().some((l) => l.msg === 'the upstream lost deliveries whose payload is already purged: they cannot be sent again')).toBe(true);

    expect(await relay.drain()).toMatchObject({ delivered: 3 });
    for (const key of lost.slice(1)) {
      expect(server.held.has(key)).toBe(true);
      expect(server.deliveries().filter((r) => r.headers['idempotency-key'] === key)).toHaveLength(2);
    }
    expect(server.held.size).toBe(600);
    // The purged one stays lost and known: later rounds do not walk again for it.
    store.recordTransaction(sampleTransaction('city-tthc', 601));
    await relay.round();
    expect(await reconciler.afterRound('city-tthc')).toBeUndefined();
  });

  it('an upstream that holds everything: a walk requeues nothing; a failing check is a typed error and requeues nothing', async () => {
    const relay = new Relay({ store, upstreams: [transport], log: capturedLog().log, now: () => clock });
    const reconciler = new Reconciler({ store, transports: [transport], log: capturedLog().log });
    store.recordMany([0, 1, 2].map((n) => sampleTransaction('city-tthc', n)));
    await relay.drain();
    expect(await reconciler.reconcile('city-tthc')).toEqual({ checked: 3, requeued: [], erased: [] });
    await server.close();
    await expect(reconciler.reconcile('city-tthc')).rejects.toMatchObject({ code: 'SYNC_RECONCILE_FAILED', details: { upstream: 'city-tthc' } });
    expect(store.outboxStatus()['city-tthc']).toMatchObject({ delivered: 3, pending: 0 });
    server = await ContractServer.start({ upstream: 'city-tthc', contracts: await loadContracts(), pki });
  });
});
