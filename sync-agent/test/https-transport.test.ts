import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@kiosk/common';
import type { TransactionStore } from '@kiosk/store';
import type { DeliveredUpstream } from '../src/contracts/index.js';
import { classifyAnswer } from '../src/delivery-policy.js';
import { Relay } from '../src/relay/relay.js';
import { createUpstreamTransports, type HttpsUpstreamTransport } from '../src/transport/index.js';
import { ContractServer, type ContractServerOptions } from './contract-server.js';
import { capturedLog, openStore, pkiFolder, pki, sampleTransaction, sharedClient, transportFor } from './transport-fixtures.js';

// The HTTPS transport over real mutual TLS on 127.0.0.1 to a small contract server, with a real SQLite store and
// the relay: what is sent, what comes back, and how each answer is settled.

let store: TransactionStore;
const servers: ContractServer[] = [];
const transports: HttpsUpstreamTransport[] = [];
const quiet = capturedLog().log;

const shared = sharedClient();
let storeDir: string;
beforeEach(async () => {
  storeDir = await pkiFolder();
  store = openStore(storeDir);
});
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  for (const s of servers.splice(0)) await s.close();
  store.close();
  rmSync(storeDir, { recursive: true, force: true });
});

async function upstream(name: DeliveredUpstream, options: Partial<ContractServerOptions> = {}, transport: { concurrency?: number; timeoutMs?: number; log?: ReturnType<typeof capturedLog>['log'] } = {}): Promise<{ server: ContractServer; transport: HttpsUpstreamTransport }> {
  const server = await ContractServer.start({ upstream: name, contracts: shared.contracts, pki, ...options });
  servers.push(server);
  const t = transportFor(server, name, shared.source, transport.log ?? quiet, { contracts: shared.contracts, ...transport });
  transports.push(t);
  return { server, transport: t };
}

describe('HttpsUpstreamTransport: deliveries', () => {
  it('delivers a batch to each of the three upstreams through the relay; every receipt is stored, and the base path is kept', async () => {
    const city = await upstream('city-tthc', { basePath: '/kiosk/v1' });
    const population = await upstream('population-lgsp');
    const hospital = await upstream('hospital-fhir', { basePath: '/fhir' });
    const recorded = [0, 1, 2, 3, 4, 5].flatMap((n) => (['city-tthc', 'population-lgsp', 'hospital-fhir'] as const).map((u) => store.recordTransaction(sampleTransaction(u, n))));
    const relay = new Relay({ store, upstreams: [city.transport, population.transport, hospital.transport], log: quiet, batchSize: 4 });
    expect(await relay.drain()).toEqual({ delivered: 18, retried: 0, deadLettered: 0, bookkeepingFailed: 0 });
    for (const { server } of [city, population, hospital]) expect(server.held.size).toBe(6);
    const receipts = recorded.map((r) => store.deliveriesOf(r.id)[0]!.receipt);
    expect(receipts.filter((r) => r?.startsWith('TC-'))).toHaveLength(6);
    expect(receipts.filter((r) => r?.startsWith('LGSP-'))).toHaveLength(6);
    // The FHIR receipt is the Encounter's id without its version.
    expect(receipts.filter((r) => /^Encounter\/e\d+$/.test(r ?? ''))).toHaveLength(6);
    expect(city.server.deliveries().every((r) => r.headers['idempotency-key'] !== undefined && r.headers['x-device-id'] === pki.deviceId)).toBe(true);
    expect(city.transport.reportedReceived()).toBe(6);
  });

  it('keeps up to `concurrency` requests in flight over keep-alive connections, answers in batch order', async () => {
    const { server, transport } = await upstream('city-tthc', { holdUntilInFlight: 4 }, { concurrency: 4 });
    for (let n = 0; n < 16; n += 1) store.recordTransaction(sampleTransaction('city-tthc', n));
    const batch = store.claimDue({ upstream: 'city-tthc', limit: 8 });
    const answers = await transport.send(batch);
    expect(server.maxInFlight).toBe(4);
    // In batch order: each answer's receipt is the one the server gave that delivery's key.
    expect(answers.map((a) => a.receipt)).toEqual(batch.map((d) => server.held.get(d.idempotencyKey)));
    await transport.send(store.claimDue({ upstream: 'city-tthc', limit: 8 }));
    // 16 requests over at most 4 connections: the second batch reused the first one's.
    expect(server.connections).toBeLessThanOrEqual(4);
    expect(server.deliveries()).toHaveLength(16);
  });
});

describe('createUpstreamTransports', () => {
  it('makes the three delivering upstreams from the configuration file (URL with its base path, timeout, concurrency)', async () => {
    const city = await ContractServer.start({ upstream: 'city-tthc', contracts: shared.contracts, pki, basePath: '/one-stop/api', holdUntilInFlight: 2 });
    servers.push(city);
    const file = join(storeDir, 'kiosk.config.json');
    writeFileSync(file, JSON.stringify({ sync: { upstreams: { 'city-tthc': { url: city.url(), timeoutMs: 2000 } }, agent: { concurrency: 2 } } }));
    const made = createUpstreamTransports({ config: loadConfig({ file, env: {} }), tls: shared.source, contracts: shared.contracts, deviceId: pki.deviceId, log: quiet });
    transports.push(...made);
    expect(made.map((t) => t.name)).toEqual(['city-tthc', 'population-lgsp', 'hospital-fhir']);
    for (let n = 0; n < 4; n += 1) store.recordTransaction(sampleTransaction('city-tthc', n));
    expect(await new Relay({ store, upstreams: made, log: quiet }).round()).toMatchObject({ delivered: 4 });
    expect(city.maxInFlight).toBe(2);
  });
});

describe('HttpsUpstreamTransport: answers the relay retries', () => {
  const cases: Array<[string, ContractServerOptions['fault'], RegExp, number | undefined]> = [
    ['429 with Retry-After (seconds)', () => ({ status: 429, headers: { 'retry-after': '30' }, body: { title: 'slow down', status: 429, code: 'THROTTLED' } }), /^HTTP 429: THROTTLED/, 30_000],
    ['503 with Retry-After', () => ({ status: 503, headers: { 'retry-after': '5' }, body: { title: 'maintenance', status: 503, code: 'TRANSIENT' } }), /^HTTP 503: TRANSIENT/, 5000],
    ['a connection reset before the answer', () => 'reset', /^no answer: ECONNRESET$/, undefined],
    ['no answer before the timeout', () => 'hang', /^no answer: no complete answer within 300 ms$/, undefined],
  ];
  for (const [what, fault, reason, retryAfterMs] of cases) {
    it(`retries after ${what}`, async () => {
      const { transport } = await upstream('city-tthc', { fault }, { timeoutMs: 300 });
      store.recordTransaction(sampleTransaction('city-tthc', 0));
      const [answer] = await transport.send(store.claimDue({ upstream: 'city-tthc' }));
      const outcome = classifyAnswer(answer!);
      expect(outcome.kind).toBe('retry');
      expect(outcome.kind === 'retry' && outcome.reason).toMatch(reason);
      expect(outcome.kind === 'retry' && outcome.retryAfterMs).toBe(retryAfterMs ?? undefined);
    });
  }

  it('through the relay: a 503 then an acknowledgement delivers once, with the receipt', async () => {
    let clock = Date.parse('2026-12-06T08:00:00Z');
    store.close();
    store = openStore(storeDir, () => clock);
    const { server, transport } = await upstream('hospital-fhir', { fault: (_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '30' }, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] } } : undefined) });
    const { id } = store.recordTransaction(sampleTransaction('hospital-fhir', 2));
    const relay = new Relay({ store, upstreams: [transport], log: quiet, now: () => clock });
    expect(await relay.round()).toMatchObject({ retried: 1 });
    clock += 30_000;
    expect(await relay.round()).toMatchObject({ delivered: 1 });
    expect(store.deliveriesOf(id)[0]).toMatchObject({ state: 'delivered', receipt: 'Encounter/e1' });
    expect(server.deliveries()).toHaveLength(2);
  });
});

describe('HttpsUpstreamTransport: answers that dead-letter', () => {
  it('400 and 422 dead-letter with the problem code and reason, ID numbers scrubbed; the next delivery goes on', async () => {
    const { transport } = await upstream('city-tthc', {
      fault: (_r, i) => (i < 2 ? { status: i === 0 ? 400 : 422, body: { title: 'refused', status: 422, code: 'BUSINESS_RULE', detail: 'applicant 001090012345 is not resident here' } } : undefined),
    });
    const first = store.recordTransaction(sampleTransaction('city-tthc', 0));
    const second = store.recordTransaction(sampleTransaction('city-tthc', 1));
    const third = store.recordTransaction(sampleTransaction('city-tthc', 2));
    const relay = new Relay({ store, upstreams: [transport], log: quiet, batchSize: 1 });
    expect(await relay.drain()).toMatchObject({ delivered: 1, deadLettered: 2 });
    const letters = store.deadLetters();
    expect(letters.map((l) => l.transactionId).sort()).toEqual([first.id, second.id].sort());
    expect(letters.map((l) => l.lastError)).toEqual(expect.arrayContaining(['HTTP 400: BUSINESS_RULE: applicant [REDACTED] is not resident here', 'HTTP 422: BUSINESS_RULE: applicant [REDACTED] is not resident here']));
    expect(store.deliveriesOf(third.id)[0]!.state).toBe('delivered');
  });

  it('a FHIR OperationOutcome gives the issue code and diagnostics as the reason', async () => {
    const { transport } = await upstream('hospital-fhir', { fault: () => ({ status: 422, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'department closed' }] } }) });
    store.recordTransaction(sampleTransaction('hospital-fhir', 0));
    const [answer] = await transport.send(store.claimDue({ upstream: 'hospital-fhir' }));
    expect(classifyAnswer(answer!)).toEqual({ kind: 'rejected', reason: 'HTTP 422: business-rule: department closed' });
  });

  it('a payload that cannot form a valid request is dead-lettered without being sent, with the contract pointer', async () => {
    const { server, transport } = await upstream('city-tthc');
    const bad = store.recordTransaction(sampleTransaction('city-tthc', 0, { transactionId: 'x', procedureCode: 'not-a-code', applicant: { idNumber: '1', fullName: 'A', dateOfBirth: '2000-01-01' }, face: 'accepted', form: {} }));
    const relay = new Relay({ store, upstreams: [transport], log: quiet });
    expect(await relay.drain()).toMatchObject({ deadLettered: 1 });
    expect(server.deliveries()).toHaveLength(0);
    expect(store.deadLetters()[0]).toMatchObject({ transactionId: bad.id });
    expect(store.deadLetters()[0]!.lastError).toMatch(/^not sent, the request is invalid: city-tthc submitDossier request: \/body\//);
  });
});

describe('HttpsUpstreamTransport: acknowledgements', () => {
  it('a malformed acknowledgement is delivered without a receipt, and the contract violation is logged with its pointer and a redacted URL', async () => {
    const captured = capturedLog();
    const { transport } = await upstream('city-tthc', { ackBody: () => ({ trackingCode: 'lower-case-is-not-a-code', status: 'received', receivedAt: '2026-12-06T02:00:00Z' }) }, { log: captured.log });
    const { id } = store.recordTransaction(sampleTransaction('city-tthc', 0));
    expect(await new Relay({ store, upstreams: [transport], log: quiet }).drain()).toMatchObject({ delivered: 1 });
    expect(store.deliveriesOf(id)[0]).toMatchObject({ state: 'delivered', receipt: null });
    const warning = captured.lines().find((l) => l.msg === 'acknowledgement does not match the contract: counted as delivered, without a receipt');
    expect(warning).toMatchObject({ pointer: '/body/trackingCode', status: 201, url: `https://127.0.0.1:${servers[0]!.port}/dossiers` });
  });

  it('records the highest X-Device-Received of the last batch that carried one; none when the upstream does not send it', async () => {
    const counted = await upstream('population-lgsp', {}, { concurrency: 3 });
    const silent = await upstream('hospital-fhir', { reportReceived: false });
    for (let n = 0; n < 6; n += 1) store.recordTransaction(sampleTransaction('population-lgsp', n));
    store.recordTransaction(sampleTransaction('hospital-fhir', 0));
    await counted.transport.send(store.claimDue({ upstream: 'population-lgsp', limit: 5 }));
    expect(counted.transport.reportedReceived()).toBe(5);
    // Restored from a backup: two are gone, so the next acknowledgement counts 3 + 1.
    counted.server.forget([...counted.server.held.keys()].slice(0, 2));
    await counted.transport.send(store.claimDue({ upstream: 'population-lgsp' }));
    expect(counted.transport.reportedReceived()).toBe(4);
    await silent.transport.send(store.claimDue({ upstream: 'hospital-fhir' }));
    expect(silent.transport.reportedReceived()).toBeUndefined();
  });

  it('checkDeliveries asks the reconciliation endpoint which keys the upstream does not hold', async () => {
    for (const name of ['city-tthc', 'hospital-fhir'] as const) {
      const { server, transport } = await upstream(name);
      for (let n = 0; n < 3; n += 1) store.recordTransaction(sampleTransaction(name, n));
      const batch = store.claimDue({ upstream: name });
      await transport.send(batch);
      server.forget([batch[1]!.idempotencyKey]);
      expect(await transport.checkDeliveries([...batch.map((d) => d.idempotencyKey), 'never-sent/key'])).toEqual([batch[1]!.idempotencyKey, 'never-sent/key']);
      expect(server.received.at(-1)!.path).toBe(name === 'hospital-fhir' ? '/$check-deliveries' : '/deliveries/check');
    }
  });
});
