import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, isKioskError, loadConfig, type KioskConfig } from '@kiosk/common';
import { buildVirtualCard, createTestPki, PERSONAS, type CardBuildOptions } from '@kiosk/fixtures';
import { addToTrustFolder } from '@kiosk/device-drivers/verify';
import { TransactionStore, type DueDelivery } from '@kiosk/store';
import { cityTthcPayload, Contracts, populationLgspPayload, requestFor, type DeliveredUpstream } from '@kiosk/sync-agent/contracts';
import { DossierSubmission } from '../src/service/dossier-submission.js';
import type { FaceOutcome } from '../src/service/face-step.js';
import { IdentityCheck } from '../src/service/identity-check.js';
import { startKioskServer, type KioskServer } from '../src/service/server.js';
import { loadKioskTrust, type KioskTrust } from '../src/service/trust-setup.js';
import { Visit } from '../src/service/visit.js';
import { InProcessReader } from './harness/in-process-reader.js';
import { simTrustEnv } from './harness/sim-devices.js';

const log = createLogger({ name: 'test', level: 'silent' });
const persona = PERSONAS[0]!;
const CAN = persona.idNumber.slice(6);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SCHEMAS = { 'population-lgsp': populationLgspPayload, 'city-tthc': cityTthcPayload } as const;

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isKioskError(err) ? err.code : 'not a KioskError';
  }
  return undefined;
};

/** One kiosk as `kiosk` wires it: a shared visit, the identity check, the dossier, the server, a real store. */
interface Kiosk {
  reader: InProcessReader;
  visit: Visit;
  check: IdentityCheck;
  dossiers: DossierSubmission;
  store: TransactionStore;
  /** What the notifier saw when it ran: the transactions committed at that moment. */
  notified: number[];
}

describe('deliveries the kiosk records (virtual CCCD in process, test PKI trust, real store)', () => {
  let dir: string;
  let trust: KioskTrust;
  let contracts: Contracts;
  let config: KioskConfig;
  let k: Kiosk;

  const committed = (store: TransactionStore): number => Object.values(store.stats().transactions).reduce((a, b) => a + b, 0);

  function kiosk(notify: (store: TransactionStore) => Promise<void>, kioskTrust = trust): Kiosk {
    const store = TransactionStore.open({ path: join(dir, `store-${Math.random().toString(36).slice(2)}.db`), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    const reader = new InProcessReader();
    const notified: number[] = [];
    const visit = new Visit({ cards: reader, log, notifySyncAgent: () => (notified.push(committed(store)), notify(store)) });
    const check = new IdentityCheck({ cards: reader, devicesMode: 'simulated', trust: kioskTrust, recorder: store, log, visit });
    const dossiers = new DossierSubmission({ visit, store, procedureCode: config.services.publicService.demoProcedureCode, log });
    return { reader, visit, check, dossiers, store, notified };
  }

  async function insert(reader: InProcessReader, options: CardBuildOptions = {}): Promise<void> {
    reader.insert((await buildVirtualCard(persona, { portrait: 'synthetic', ...options })).card);
  }

  /** Each due delivery through the sync agent's own request builder, checked against its upstream's OpenAPI contract. */
  function checkedUpstream(due: DueDelivery): void {
    const upstream = due.upstream as DeliveredUpstream;
    expect(SCHEMAS[upstream as keyof typeof SCHEMAS].safeParse(due.payload).success).toBe(true);
    contracts.validateRequest(upstream, requestFor(upstream, due, { deviceId: 'kiosk-hn-0001' }));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-dossier-'));
    config = loadConfig({ env: { KIOSK_TRUST_FOLDER: join(dir, 'trust'), ...(await simTrustEnv(dir)) } });
    trust = await loadKioskTrust(config, log);
    contracts = await Contracts.load();
  });
  beforeEach(() => {
    k = kiosk(async () => undefined);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('an accepted check records the population-lgsp verdict on the visit stream, named by its transaction id, valid against the sync agent schema and contract; the agent is notified after the commit', async () => {
    await insert(k.reader);
    expect(await k.check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' } });
    const [recorded] = k.store.findByCitizen(persona.idNumber);
    const deliveries = k.store.deliveriesOf(recorded!.id);
    expect(deliveries).toMatchObject([{ upstream: 'population-lgsp', state: 'pending', receipt: null }]);
    const [due] = k.store.claimDue();
    expect(due).toMatchObject({ upstream: 'population-lgsp', transactionId: recorded!.id, idempotencyKey: `${recorded!.id}/population-lgsp`, aggregate: k.visit.stream });
    expect(due!.aggregate).toMatch(/^visit-[0-9a-f-]{36}$/);
    expect(due!.aggregate).not.toContain(persona.idNumber.slice(-6));
    expect(due!.payload).toEqual({
      transactionId: recorded!.id,
      idNumber: persona.idNumber,
      verdict: {
        decision: 'accept',
        policy: 'public-service',
        checks: { sodSignature: 'passed', dsChain: 'passed', crl: 'passed', dataGroupHashes: 'passed', activeAuthentication: 'passed', chipAuthentication: 'passed' },
        face: 'not-performed',
      },
    });
    expect(recorded!.id).toMatch(UUID);
    checkedUpstream(due!);
    await expect.poll(() => k.notified).toEqual([1]);
  });

  it('the dossier: one press records a public-service-submission with its city-tthc delivery on the same stream (valid against schema and contract); a second press is refused', async () => {
    await insert(k.reader);
    await k.check.check(CAN);
    const stream = k.visit.stream;
    const { transactionId } = k.dossiers.submit();
    expect(transactionId).toMatch(UUID);
    expect(k.store.getTransaction(transactionId)).toMatchObject({ kind: 'public-service-submission', status: 'completed', verdict: { procedure: '1.004222', faceMatch: 'not-performed' } });
    expect(k.store.getTransaction(transactionId)?.citizen).toEqual({ idNumber: persona.idNumber, fields: { fullName: persona.fullName, dateOfBirth: persona.dateOfBirth.split('/').reverse().join('-') } });
    const due = k.store.claimDue().find((d) => d.upstream === 'city-tthc');
    // The visit's stream is numbered across its deliveries: the verdict was 1, the dossier is 2.
    expect(due).toMatchObject({ transactionId, aggregate: stream, aggregateSeq: 2 });
    expect(due!.payload).toEqual({
      transactionId,
      procedureCode: '1.004222',
      applicant: { idNumber: persona.idNumber, fullName: persona.fullName, dateOfBirth: persona.dateOfBirth.split('/').reverse().join('-') },
      face: 'not-performed',
      form: {},
    });
    checkedUpstream(due!);
    expect(codeOf(() => k.dossiers.submit())).toBe('SUBMISSION_NO_APPLICANT');
    expect(k.store.stats().transactions['public-service-submission/completed']).toBe(1);
    await expect.poll(() => k.notified).toEqual([1, 2]);
  });

  it('deliveries of this visit only: pending, then the tracking code once the agent marks it delivered; another id or a new visit is API_NOT_FOUND', async () => {
    await insert(k.reader);
    await k.check.check(CAN);
    const { transactionId } = k.dossiers.submit();
    expect(k.dossiers.deliveries(transactionId)).toEqual({ deliveries: [{ upstream: 'city-tthc', state: 'pending', receipt: null }] });
    const city = k.store.claimDue().find((d) => d.upstream === 'city-tthc')!;
    k.store.markDeliveredBatch([city.id], new Map([[city.id, 'HS-2026-000042']]));
    expect(k.dossiers.deliveries(transactionId)).toEqual({ deliveries: [{ upstream: 'city-tthc', state: 'delivered', receipt: 'HS-2026-000042' }] });
    expect(codeOf(() => k.dossiers.deliveries('3f1c2a9e-7b4d-4c8e-9a6f-0123456789ab'))).toBe('API_NOT_FOUND');
    k.visit.end();
    expect(codeOf(() => k.dossiers.deliveries(transactionId))).toBe('API_NOT_FOUND');
  });

  it('a rejected card records no delivery and cannot submit; nor can a removed card or an ended visit', async () => {
    await insert(k.reader, { fault: 'tampered-dg13' });
    expect(await k.check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'reject' } });
    expect(k.store.claimDue()).toEqual([]);
    expect(codeOf(() => k.dossiers.submit())).toBe('SUBMISSION_NO_APPLICANT');
    for (const leave of [() => k.reader.emit('event', { type: 'card-removed', reader: 'in-process' }), () => k.visit.end(), () => k.reader.insert(k.reader.card!)]) {
      await insert(k.reader);
      await k.check.check(CAN);
      leave();
      expect(codeOf(() => k.dossiers.submit())).toBe('SUBMISSION_NO_APPLICANT');
    }
    expect(k.store.stats().transactions['public-service-submission/completed']).toBeUndefined();
    // No notification for a transaction with nothing to deliver.
    await expect.poll(() => k.notified.length).toBe(3);
  });

  it('a card taken out during the face step: the accepted check is recorded, but nobody may submit for it', async () => {
    const store = TransactionStore.open({ path: join(dir, 'store-face-race.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    try {
      const reader = new InProcessReader();
      const visit = new Visit({ cards: reader, log });
      const face = {
        run: (): Promise<FaceOutcome> => {
          reader.emit('event', { type: 'card-removed', reader: 'in-process' });
          return Promise.resolve({ decision: 'accepted', summary: { faceMatch: 'accepted' } });
        },
      };
      const check = new IdentityCheck({ cards: reader, devicesMode: 'simulated', trust, recorder: store, log, visit, face });
      const dossiers = new DossierSubmission({ visit, store, procedureCode: '1.004222', log });
      await insert(reader);
      expect(await check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' }, face: 'accepted' });
      expect(store.claimDue().map((d) => d.upstream)).toEqual(['population-lgsp']);
      expect(codeOf(() => dossiers.submit())).toBe('SUBMISSION_NO_APPLICANT');
    } finally {
      store.close();
    }
  });

  it('a card the policy sends to review (no current CRL) records no delivery and cannot submit', async () => {
    const reviewTrustDir = join(dir, 'trust-no-crl');
    await addToTrustFolder(reviewTrustDir, createTestPki().csca.certificate);
    const reviewTrust = await loadKioskTrust(loadConfig({ env: { KIOSK_TRUST_FOLDER: reviewTrustDir } }), log);
    const review = kiosk(async () => undefined, reviewTrust);
    await insert(review.reader);
    expect(await review.check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'needs-review' } });
    expect(review.store.stats().transactions['identity-verification/needs-review']).toBe(1);
    expect(review.store.claimDue()).toEqual([]);
    expect(codeOf(() => review.dossiers.submit())).toBe('SUBMISSION_NO_APPLICANT');
    expect(review.notified).toEqual([]);
  });

  it.each([
    ['rejects', () => Promise.reject(new Error('agent down'))],
    ['throws at once', () => {
      throw new Error('agent down');
    }],
  ])('a notifier that %s never fails the citizen\'s transaction', async (_how, notify) => {
    const failing = kiosk(notify);
    await insert(failing.reader);
    expect(await failing.check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' }, holder: { fullName: persona.fullName } });
    expect(failing.dossiers.submit().transactionId).toMatch(UUID);
    await expect.poll(() => failing.notified).toEqual([1, 2]);
    expect(failing.store.stats().transactions).toMatchObject({ 'identity-verification/completed': 1, 'public-service-submission/completed': 1 });
  });
});

describe('the dossier routes of the local API', () => {
  let dir: string;
  let store: TransactionStore;
  const servers: KioskServer[] = [];
  const reader = new InProcessReader();
  const cards = Object.assign(reader, { status: () => [] });

  async function serve(profile: string): Promise<{ server: KioskServer; visit: Visit; check: IdentityCheck }> {
    const config = loadConfig({ env: { KIOSK_SERVICE_PORT: '0', KIOSK_DEVICE_PROFILE: profile, KIOSK_TRUST_FOLDER: join(dir, 'trust'), ...(await simTrustEnv(dir)) } });
    const trust = await loadKioskTrust(config, log);
    const visit = new Visit({ cards, log });
    const check = new IdentityCheck({ cards, devicesMode: 'simulated', trust, recorder: store, log, visit });
    const dossiers = new DossierSubmission({ visit, store, procedureCode: config.services.publicService.demoProcedureCode, log });
    const server = await startKioskServer({ config, log, cards, identity: check, visit, dossiers });
    servers.push(server);
    return { server, visit, check };
  }

  const call = async (server: KioskServer, method: string, path: string, token: string | null = server.token): Promise<{ status: number; body: string }> => {
    const response = await fetch(new URL(path, server.url), { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: '{}' } : {}) });
    return { status: response.status, body: await response.text() };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-dossier-api-'));
    store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('submit and follow with the token; without it 401; a random id 404; the answer holds upstream, state and receipt only; the visit end forgets it', async () => {
    const { server, check } = await serve('public-service');
    expect((await call(server, 'POST', '/api/dossiers')).status).toBe(409); // nobody checked yet
    reader.insert((await buildVirtualCard(persona, { portrait: 'synthetic' })).card);
    await check.check(CAN);
    expect((await call(server, 'POST', '/api/dossiers', null)).status).toBe(401);
    expect((await call(server, 'POST', '/api/dossiers', 'x'.repeat(43))).status).toBe(401);
    const submitted = await call(server, 'POST', '/api/dossiers');
    expect(submitted.status).toBe(200);
    const { transactionId } = JSON.parse(submitted.body) as { transactionId: string };
    expect(Object.keys(JSON.parse(submitted.body) as object)).toEqual(['transactionId']);
    const path = `/api/transactions/${transactionId}/deliveries`;
    expect((await call(server, 'GET', path, null)).status).toBe(401);
    const followed = await call(server, 'GET', path);
    expect(followed.status).toBe(200);
    expect(JSON.parse(followed.body)).toEqual({ deliveries: [{ upstream: 'city-tthc', state: 'pending', receipt: null }] });
    for (const secret of [persona.idNumber, persona.idNumber.slice(-4), persona.fullName, persona.dateOfBirth, 'transactionId', 'attempts']) expect(followed.body).not.toContain(secret);
    const unknown = await call(server, 'GET', '/api/transactions/3f1c2a9e-7b4d-4c8e-9a6f-0123456789ab/deliveries');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'API_NOT_FOUND' } });
    expect((await call(server, 'GET', '/api/transactions/..%2F..%2Fetc/deliveries')).status).toBe(404);
    expect((await call(server, 'POST', '/api/dossiers')).status).toBe(409); // submitted already
    expect((await call(server, 'POST', '/api/visit/end', null)).status).toBe(401);
    expect((await call(server, 'POST', '/api/visit/end')).status).toBe(204);
    expect((await call(server, 'GET', path)).status).toBe(404);
  });

  it('a hospital kiosk offers no dossier (POST /api/dossiers does not exist) but still records the population verdict', async () => {
    const { server, check } = await serve('hospital');
    reader.insert((await buildVirtualCard(persona, { portrait: 'synthetic' })).card);
    expect(await check.check(CAN)).toMatchObject({ verdict: { decision: 'accept', policy: 'hospital' } });
    expect((await call(server, 'POST', '/api/dossiers')).status).toBe(404);
    expect(store.claimDue().filter((d) => d.upstream === 'population-lgsp').map((d) => (d.payload as { verdict: { policy: string } }).verdict.policy)).toContain('hospital');
  });
});
