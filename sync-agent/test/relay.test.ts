import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, KioskError } from '@kiosk/common';
import { TransactionStore, type DueDelivery, type NewTransaction } from '@kiosk/store';
import type { UpstreamAnswer } from '../src/delivery-policy.js';
import { Relay, type OutboxPort, type UpstreamTransport } from '../src/relay/relay.js';

// The relay's logic against a real SQLite store; the upstream here answers from a script. The same path over mTLS
// to the upstream simulators is the integration test of the relay (issue 14).

const log = createLogger({ name: 'test', level: 'silent' });

/** Synthetic personas (not real people). */
const CITIZENS = ['001090012345', '079185004321', '031200007777'];

function submission(idNumber: string, step: number, upstreams: string[]): NewTransaction {
  return {
    kind: 'public-service-submission',
    status: 'completed',
    verdict: { chip: 'genuine' },
    deliveries: upstreams.map((upstream) => ({ upstream, aggregate: `dossier-${idNumber.slice(-4)}`, payload: { procedure: '1.001234', step } })),
  };
}

/** An upstream that answers each delivery with what `answer` says and keeps what it received, in order. */
class ScriptedUpstream implements UpstreamTransport {
  readonly received: DueDelivery[] = [];
  constructor(
    readonly name: string,
    private readonly answer: (d: DueDelivery, seen: number) => UpstreamAnswer = () => ({ status: 201 }),
  ) {}
  send(batch: readonly DueDelivery[]): Promise<UpstreamAnswer[]> {
    return Promise.resolve(
      batch.map((d) => {
        const seen = this.received.filter((r) => r.idempotencyKey === d.idempotencyKey).length;
        this.received.push(d);
        return this.answer(d, seen);
      }),
    );
  }
}

describe('Relay over a real store', () => {
  let dir: string;
  let store: TransactionStore;
  let clock: number;
  const now = (): number => clock;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-relay-'));
    clock = Date.parse('2026-12-06T08:00:00Z');
    store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem'), now });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drain: a slow upstream does not hold back the others (no barrier between their batches)', async () => {
    for (let step = 0; step < 4; step += 1) for (const id of CITIZENS) store.recordTransaction(submission(id, step, ['city', 'population']));
    const city = new ScriptedUpstream('city');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = new ScriptedUpstream('population');
    const population: UpstreamTransport = { name: 'population', send: async (batch) => (await held, slow.send(batch)) };
    const drained = new Relay({ store, upstreams: [city, population], log, now, batchSize: 3 }).drain();
    // City's four batches of three all go while population's first answer is still held.
    while (city.received.length < 12) await new Promise((resolve) => setImmediate(resolve));
    expect(slow.received).toHaveLength(0);
    release();
    expect(await drained).toEqual({ delivered: 24, retried: 0, deadLettered: 0, bookkeepingFailed: 0 });
  });

  it('delivers every delivery once per upstream, each dossier in its recorded order, and leaves nothing pending', async () => {
    for (let step = 0; step < 4; step += 1) for (const id of CITIZENS) store.recordTransaction(submission(id, step, ['city', 'population']));
    const city = new ScriptedUpstream('city');
    const population = new ScriptedUpstream('population');
    const total = await new Relay({ store, upstreams: [city, population], log, now, batchSize: 2 }).drain();
    expect(total).toEqual({ delivered: 24, retried: 0, deadLettered: 0, bookkeepingFailed: 0 });
    for (const upstream of [city, population]) {
      expect(new Set(upstream.received.map((d) => d.idempotencyKey)).size).toBe(12);
      for (const id of CITIZENS) {
        const steps = upstream.received.filter((d) => d.aggregate === `dossier-${id.slice(-4)}`).map((d) => d.payload.step);
        expect(steps).toEqual([0, 1, 2, 3]);
      }
    }
    expect(store.stats().outbox).toMatchObject({ pending: 0, delivered: 24, deadLetter: 0 });
  });

  it('a 503 with Retry-After waits exactly that long; a later answer delivers it', async () => {
    store.recordTransaction(submission(CITIZENS[0]!, 0, ['city']));
    const city = new ScriptedUpstream('city', (_, seen) => (seen === 0 ? { status: 503, retryAfter: '30' } : { status: 201 }));
    const relay = new Relay({ store, upstreams: [city], log, now });
    expect(await relay.drain()).toMatchObject({ delivered: 0, retried: 1 });
    clock += 29_999;
    expect(await relay.drain()).toMatchObject({ delivered: 0, retried: 0 });
    clock += 1;
    expect(await relay.drain()).toMatchObject({ delivered: 1 });
    expect(city.received.map((d) => d.attempts)).toEqual([0, 1]);
  });

  it('a refused delivery (422) is dead-lettered with the reason and does not block the dossier behind it', async () => {
    store.recordTransaction(submission(CITIZENS[0]!, 0, ['city']));
    store.recordTransaction(submission(CITIZENS[0]!, 1, ['city']));
    const city = new ScriptedUpstream('city', (d) => (d.payload.step === 0 ? { status: 422, error: 'procedure code unknown' } : { status: 201 }));
    expect(await new Relay({ store, upstreams: [city], log, now }).drain()).toMatchObject({ delivered: 1, deadLettered: 1 });
    expect(city.received.map((d) => d.payload.step)).toEqual([0, 1]);
    expect(store.stats().outbox).toMatchObject({ pending: 0, delivered: 1, deadLetter: 1 });
  });

  it('401 stops that upstream with an alert and spends no attempt; the same dossier goes on to the others; resume delivers it', async () => {
    store.recordTransaction(submission(CITIZENS[0]!, 0, ['city', 'population']));
    let certificateRenewed = false;
    const city = new ScriptedUpstream('city', () => (certificateRenewed ? { status: 201 } : { status: 401, error: 'client certificate revoked' }));
    const population = new ScriptedUpstream('population');
    const relay = new Relay({ store, upstreams: [city, population], log, now, leaseMs: 60_000 });
    const alerts: unknown[] = [];
    relay.on('alert', (a) => alerts.push(a));
    expect(await relay.drain()).toMatchObject({ delivered: 1 });
    expect(alerts).toEqual([{ upstream: 'city', reason: 'HTTP 401: client certificate revoked' }]);
    expect(relay.upstreamHealth().city).toMatchObject({ state: 'stopped' });
    clock += 120_000;
    expect(await relay.drain()).toMatchObject({ delivered: 0 });
    expect(city.received).toHaveLength(1);
    certificateRenewed = true;
    relay.resume('city');
    expect(await relay.drain()).toMatchObject({ delivered: 1 });
    expect(city.received.map((d) => d.attempts)).toEqual([0, 0]);
  });

  it('acknowledged but not marked (the disk refused): sent again after the lease with the same idempotency key, never lost', async () => {
    store.recordTransaction(submission(CITIZENS[1]!, 0, ['hospital']));
    let failMarks = 1;
    const flaky: OutboxPort = {
      claimDue: (o) => store.claimDue(o),
      markDeliveredBatch: (ids) => {
        if (failMarks-- > 0) throw new KioskError('STORE_BUSY', 'database is locked');
        return store.markDeliveredBatch(ids);
      },
      markRetry: (id, e, at) => store.markRetry(id, e, at),
      markDeadLetter: (id, e) => store.markDeadLetter(id, e),
      releaseClaims: (ids) => store.releaseClaims(ids),
    };
    const hospital = new ScriptedUpstream('hospital');
    const relay = new Relay({ store: flaky, upstreams: [hospital], log, now, leaseMs: 60_000 });
    expect(await relay.drain()).toMatchObject({ delivered: 0, bookkeepingFailed: 1 });
    expect(store.stats().outbox).toMatchObject({ pending: 1, delivered: 0 });
    clock += 60_000;
    expect(await relay.drain()).toMatchObject({ delivered: 1 });
    expect(hospital.received.map((d) => d.idempotencyKey)).toEqual([hospital.received[0]!.idempotencyKey, hospital.received[0]!.idempotencyKey]);
    expect(store.stats().outbox).toMatchObject({ pending: 0, delivered: 1 });
  });

  it('a transport answering the wrong number of deliveries is a bug, not a delivery', async () => {
    store.recordTransaction(submission(CITIZENS[2]!, 0, ['city']));
    const broken: UpstreamTransport = { name: 'city', send: () => Promise.resolve([]) };
    await expect(new Relay({ store, upstreams: [broken], log, now }).round()).rejects.toThrow(RangeError);
    expect(store.stats().outbox).toMatchObject({ pending: 1, delivered: 0 });
  });

  it('keeps the receipt an upstream answers with; a receipt the store refuses does not hold back the acknowledgement', async () => {
    const good = store.recordTransaction(submission(CITIZENS[0]!, 0, ['city']));
    const bad = store.recordTransaction(submission(CITIZENS[1]!, 0, ['city']));
    const city = new ScriptedUpstream('city', (d) => ({ status: 201, receipt: d.transactionId === good.id ? 'HS-000042' : `free text about ${CITIZENS[1]!}` }));
    expect(await new Relay({ store, upstreams: [city], log, now, batchSize: 1 }).drain()).toMatchObject({ delivered: 2, bookkeepingFailed: 0 });
    expect(store.deliveriesOf(good.id)).toMatchObject([{ state: 'delivered', receipt: 'HS-000042' }]);
    expect(store.deliveriesOf(bad.id)).toMatchObject([{ state: 'delivered', receipt: null }]);
  });

  it('a reconnect flushes at once: deliveries waiting out a "no answer" backoff go as soon as the upstream answers again', async () => {
    // Three dossiers; the network is down for the first round, so each gets a full-jitter retry time in the future.
    for (const id of CITIZENS) store.recordTransaction(submission(id, 0, ['city', 'population']));
    let down = true;
    const city = new ScriptedUpstream('city', () => (down ? { status: undefined, error: 'ECONNREFUSED' } : { status: 201 }));
    const population = new ScriptedUpstream('population', () => ({ status: 503, retryAfter: '600' }));
    const relay = new Relay({ store, upstreams: [city, population], log, now, random: () => 0.99 });
    expect(await relay.round()).toMatchObject({ retried: 6 });
    expect(await relay.round()).toMatchObject({ delivered: 0, retried: 0 }); // nothing due: all wait out their backoff
    // The network is back; a new dossier is recorded (notify): its delivery succeeds, and the earlier ones follow at
    // once, without the clock reaching their backoff time. The upstream that asked for 10 minutes still gets them.
    down = false;
    store.recordTransaction(submission('079300001111', 0, ['city']));
    expect(await relay.round()).toMatchObject({ delivered: 1 });
    expect(await relay.round()).toMatchObject({ delivered: 3 });
    expect(store.outboxStatus().city).toMatchObject({ pending: 0, delivered: 4 });
    expect(store.outboxStatus().population).toMatchObject({ pending: 3, delivered: 0 });
  });
});
