import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { sampleDeliveries, syncPki } from '@kiosk/fixtures';
import { Contracts, requestFor } from '../src/contracts/index.js';
import { FAULT_KINDS, FaultPlan, faultFromFlags, parseFaultSpec, startAdmin, UpstreamSimulator, type AdminServer } from '../src/simulators/index.js';
import { answer, send, simulatorTls } from './upstream-sim-harness.js';

const pki = syncPki();
const device = { deviceId: pki.deviceId };
const lgsp = sampleDeliveries().filter((d) => d.upstream === 'population-lgsp');
const delivery = (i: number): (typeof lgsp)[number] => ({ ...lgsp[i % lgsp.length]!, idempotencyKey: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}/population-lgsp`, aggregateSeq: i + 1 });
const req = (i: number): ReturnType<typeof requestFor> => requestFor('population-lgsp', delivery(i), device);
const checkReq = (keys: string[]): ReturnType<typeof requestFor> => ({ method: 'POST', path: '/deliveries/check', headers: { 'content-type': 'application/json', 'x-device-id': pki.deviceId }, body: { idempotencyKeys: keys } });

describe('upstream simulator faults, seen from a client with the device certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'upstream-sim-faults-'));
  let contracts: Contracts;
  let sim: UpstreamSimulator;
  let next = 0;
  beforeAll(async () => {
    contracts = await Contracts.load();
    sim = await UpstreamSimulator.start({ upstream: 'population-lgsp', contracts, tls: simulatorTls(pki), dbPath: join(dir, 'lgsp.sqlite'), seed: 7 });
  });
  beforeEach(() => sim.faults.clear());
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const held = (i: number): boolean => sim.records().some((r) => r.idempotencyKey === delivery(i).idempotencyKey);

  it('drop-before-commit: the connection dies, nothing is recorded; the resend is accepted', async () => {
    const i = next++;
    sim.arm({ kind: 'drop-before-commit' });
    expect(await send(sim.url, pki, req(i))).toMatchObject({ kind: 'failed' });
    expect(held(i)).toBe(false);
    expect((await answer(sim.url, pki, req(i))).status).toBe(201);
  });

  it('drop-after-commit: the connection dies but the delivery is held; the resend gets 409 with the receipt', async () => {
    const i = next++;
    sim.arm({ kind: 'drop-after-commit' });
    expect(await send(sim.url, pki, req(i))).toMatchObject({ kind: 'failed' });
    expect(held(i)).toBe(true);
    const resend = await answer(sim.url, pki, req(i));
    expect(resend.status).toBe(409);
    contracts.validateResponse('population-lgsp', req(i), resend);
  });

  it('reset-mid-response: the status line and part of the body arrive, then the connection is gone; the delivery is held', async () => {
    const i = next++;
    sim.arm({ kind: 'reset-mid-response' });
    expect(await send(sim.url, pki, req(i))).toMatchObject({ kind: 'failed', status: 201 });
    expect(held(i)).toBe(true);
  });

  it('status 503 and 429 with Retry-After, by the contract; nothing recorded', async () => {
    const i = next++;
    sim.arm({ kind: 'status', status: 503, retryAfter: 5 });
    sim.arm({ kind: 'throttle', retryAfter: 30 });
    const unavailable = await answer(sim.url, pki, req(i));
    expect(unavailable).toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
    contracts.validateResponse('population-lgsp', req(i), unavailable);
    const throttled = await answer(sim.url, pki, req(i));
    expect(throttled).toMatchObject({ status: 429, headers: { 'retry-after': '30' } });
    contracts.validateResponse('population-lgsp', req(i), throttled);
    expect(held(i)).toBe(false);
    const failing = await answer(sim.url, pki, (sim.arm({ kind: 'status', status: 500 }), req(i)));
    expect(failing.status).toBe(500);
    expect((await answer(sim.url, pki, req(i))).status).toBe(201);
  });

  it('delay: the answer comes, and the fault is counted', async () => {
    const i = next++;
    const before = sim.stats().faults.injected.delay ?? 0;
    sim.arm({ kind: 'delay', ms: 50 });
    expect((await answer(sim.url, pki, req(i))).status).toBe(201);
    expect(sim.stats().faults.injected.delay).toBe(before + 1);
  });

  it('duplicate-ack: a repeat is acknowledged as new (201), yet the record and X-Device-Received count it once', async () => {
    const i = next++;
    const first = await answer(sim.url, pki, req(i));
    const duplicates = sim.stats().duplicates;
    sim.arm({ kind: 'duplicate-ack', count: 2 });
    const dup = await answer(sim.url, pki, req(i));
    expect(sim.stats().duplicates).toBe(duplicates + 1);
    expect(dup.status).toBe(201);
    expect(dup.headers['idempotent-replayed']).toBeUndefined();
    expect(dup.body).toEqual(first.body);
    expect(dup.headers['x-device-received']).toBe(first.headers['x-device-received']);
    expect(sim.records().filter((r) => r.idempotencyKey === delivery(i).idempotencyKey)).toHaveLength(1);
    expect(sim.stats().faults.armed).toEqual([{ kind: 'duplicate-ack', count: 2, left: 1 }]);
  });

  it('restore from backup forgets the last N: the count drops and /deliveries/check names their keys', async () => {
    const keys = [next++, next++, next++].map((i) => delivery(i).idempotencyKey);
    let last = 0;
    for (const [n, key] of keys.entries()) {
      const a = await answer(sim.url, pki, requestFor('population-lgsp', { ...delivery(0), idempotencyKey: key, aggregateSeq: 100 + n }, device));
      last = Number(a.headers['x-device-received']);
    }
    expect(sim.restoreFromBackup(2)).toBe(2);
    const checked = await answer(sim.url, pki, checkReq(keys));
    contracts.validateResponse('population-lgsp', checkReq(keys), checked);
    expect(checked.body).toEqual({ unknown: keys.slice(1) });
    expect(Number(checked.headers['x-device-received'])).toBe(last - 2);
    // Redelivered with the same key, each is accepted again (201, not 409): the upstream lost it.
    const again = await answer(sim.url, pki, requestFor('population-lgsp', { ...delivery(0), idempotencyKey: keys[1]!, aggregateSeq: 101 }, device));
    expect(again.status).toBe(201);
    expect(sim.stats().restores).toEqual({ count: 1, forgotten: 2 });
  });

  it('a restart on the same port and database keeps every committed record and its dedupe', async () => {
    const i = next++;
    await answer(sim.url, pki, req(i));
    const before = sim.records();
    const port = sim.port;
    await sim.restart();
    expect(sim.port).toBe(port);
    expect(sim.records()).toEqual(before);
    expect((await answer(sim.url, pki, req(i))).status).toBe(409);
  });

  it('probability faults are drawn from the seed: the same seed injects on the same requests', () => {
    const draws = (seed: number): boolean[] => {
      const plan = new FaultPlan(seed);
      plan.arm({ kind: 'status', status: 503, probability: 0.3 });
      return Array.from({ length: 200 }, () => plan.take('arrival') !== undefined);
    };
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
    const hits = draws(42).filter(Boolean).length;
    expect(hits).toBeGreaterThan(30);
    expect(hits).toBeLessThan(90);
  });

  describe('admin API', () => {
    let admin: AdminServer;
    beforeAll(async () => {
      admin = await startAdmin([sim]);
    });
    afterAll(() => admin.stop());
    const call = async (method: string, path: string, body?: unknown, token = admin.token): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`${admin.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: await res.json() };
    };

    it('refuses a request without the token', async () => {
      expect((await call('GET', '/simulators', undefined, 'wrong')).status).toBe(401);
    });

    it('arms a fault the client then sees, reports stats and records, restores', async () => {
      const i = next++;
      expect((await call('POST', '/simulators/population-lgsp/faults', { kind: 'throttle', retryAfter: 9 })).status).toBe(201);
      expect((await answer(sim.url, pki, req(i))).status).toBe(429);
      const stats = (await call('GET', '/simulators/population-lgsp')).body as { faults: { injected: Record<string, number> }; records: number };
      expect(stats.faults.injected.throttle).toBeGreaterThanOrEqual(1);
      expect((await answer(sim.url, pki, req(i))).status).toBe(201);
      const records = (await call('GET', '/simulators/population-lgsp/records')).body as Array<{ idempotencyKey: string; seq: number; stream: string }>;
      expect(records.at(-1)).toMatchObject({ idempotencyKey: delivery(i).idempotencyKey, seq: i + 1, stream: 'population-lgsp' });
      expect((await call('POST', '/simulators/population-lgsp/restore', { records: 1 })).body).toMatchObject({ forgotten: 1, records: records.length - 1 });
      expect((await call('POST', '/simulators/population-lgsp/faults', { kind: 'delay' })).status).toBe(400);
      expect((await call('GET', '/simulators/nowhere')).status).toBe(404);
    });
  });
});

describe('fault command parser', () => {
  it('fuzz (fast-check, seed 14, 500 cases): any JSON is either a valid fault or a USAGE error, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ kind: fc.constantFrom(...FAULT_KINDS, 'restore', ''), ms: fc.oneof(fc.integer(), fc.double()), status: fc.integer({ min: 100, max: 700 }), retryAfter: fc.integer({ min: -5, max: 100_000 }), count: fc.integer({ min: -2, max: 5 }), probability: fc.double() }, { requiredKeys: ['kind'] })), (input) => {
        try {
          const spec = parseFaultSpec(input);
          expect(FAULT_KINDS).toContain(spec.kind);
          expect(spec.count === undefined || spec.probability === undefined).toBe(true);
        } catch (err) {
          expect(isKioskError(err) && err.code === 'USAGE').toBe(true);
        }
      }),
      { seed: 14, numRuns: 500 },
    );
  });

  it('fuzz (fast-check, seed 16, 500 cases): CLI flags become a valid fault or a USAGE error; good flags round-trip', () => {
    const text = fc.oneof(fc.string(), fc.integer({ min: -10, max: 700_000 }).map(String), fc.double().map(String));
    fc.assert(
      fc.property(fc.constantFrom(...FAULT_KINDS, 'x'), fc.record({ count: text, probability: text, ms: text, status: text, 'retry-after': text }, { requiredKeys: [] }), (kind, flags) => {
        try {
          const spec = faultFromFlags(kind, flags);
          expect(spec.kind).toBe(kind);
          if (flags.count !== undefined) expect(spec.count).toBe(Number(flags.count));
        } catch (err) {
          expect(isKioskError(err) && err.code === 'USAGE').toBe(true);
        }
      }),
      { seed: 16, numRuns: 500 },
    );
    expect(faultFromFlags('throttle', { 'retry-after': '30', count: '3' })).toEqual({ kind: 'throttle', retryAfter: 30, count: 3 });
    expect(() => faultFromFlags('delay', { ms: ' ' })).toThrow(/ms/);
  });

  it('fuzz (fast-check, seed 15, 200 cases): count mode applies to exactly the next K requests', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 30 }), (k, extra) => {
        const plan = new FaultPlan(1);
        plan.arm({ kind: 'drop-before-commit', count: k });
        const fired = Array.from({ length: k + extra }, () => plan.take('arrival') !== undefined).filter(Boolean).length;
        expect(fired).toBe(k);
        expect(plan.stats().injected['drop-before-commit']).toBe(k);
      }),
      { seed: 15, numRuns: 200 },
    );
  });
});
