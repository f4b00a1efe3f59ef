import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSONAS, isoDate, sampleBhytLookup, sampleDeliveries, sampleInsuranceNumber, syncPki, type SampleDelivery } from '@kiosk/fixtures';
import { Contracts, bhytLookupRequest, requestFor, type ContractRequest, type DeliveredUpstream } from '../src/contracts/index.js';
import { SimulatorDb, UpstreamSimulator, type BhytCard } from '../src/simulators/index.js';
import { answer, send, simulatorTls } from './upstream-sim-harness.js';

const pki = syncPki();
const device = { deviceId: pki.deviceId };
const deliveries = sampleDeliveries();
const of = (upstream: DeliveredUpstream): SampleDelivery[] => deliveries.filter((d) => d.upstream === upstream);
const checkPath = (upstream: DeliveredUpstream): string => (upstream === 'hospital-fhir' ? '/$check-deliveries' : '/deliveries/check');
const check = (upstream: DeliveredUpstream, keys: string[]): ContractRequest => ({ method: 'POST', path: checkPath(upstream), headers: { 'content-type': 'application/json', 'x-device-id': pki.deviceId }, body: { idempotencyKeys: keys } });

/** The personas' synthetic BHYT cards, for the BHYT simulator's table (as the fixtures' samples number them). */
const personaCards: BhytCard[] = PERSONAS.map((p) => ({ number: sampleInsuranceNumber(p), idNumber: p.idNumber, fullName: p.fullName, dateOfBirth: isoDate(p.dateOfBirth), validFrom: '2026-01-01', validTo: '2099-12-31', facilityCode: '01001' }));

describe('upstream simulators speak their contracts over mTLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'upstream-sim-'));
  let contracts: Contracts;
  const sims = new Map<string, UpstreamSimulator>();
  const sim = (name: string): UpstreamSimulator => sims.get(name)!;

  beforeAll(async () => {
    contracts = await Contracts.load();
    for (const upstream of ['city-tthc', 'population-lgsp', 'hospital-fhir', 'bhyt-check'] as const) {
      sims.set(upstream, await UpstreamSimulator.start({ upstream, contracts, tls: simulatorTls(pki), dbPath: join(dir, `${upstream}.sqlite`), bhytCards: personaCards }));
    }
  });
  afterAll(async () => {
    for (const s of sims.values()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['city-tthc', 'population-lgsp', 'hospital-fhir'] as const)('%s: accepts a delivery, answers by the contract with X-Device-Received, 409 with the same receipt on a repeat', async (upstream) => {
    const delivery = of(upstream)[0]!;
    const req = requestFor(upstream, delivery, device);
    const first = await answer(sim(upstream).url, pki, req);
    contracts.validateResponse(upstream, req, first);
    expect(first.status).toBe(upstream === 'hospital-fhir' ? 200 : 201);
    expect(first.headers['x-device-received']).toBe('1');
    const again = await answer(sim(upstream).url, pki, req);
    contracts.validateResponse(upstream, req, again);
    expect(again.status).toBe(409);
    expect(again.body).toEqual(first.body);
    expect(again.headers['x-device-received']).toBe('1');
    expect(sim(upstream).records()).toEqual([expect.objectContaining({ arrival: 1, idempotencyKey: delivery.idempotencyKey, deviceId: pki.deviceId, stream: delivery.aggregate, seq: delivery.aggregateSeq })]);
  });

  it('city-tthc: the tracking code finds the dossier; an unknown code is 404 by the contract', async () => {
    const held = sim('city-tthc').records()[0]!;
    const receipt = new SimulatorDb(join(dir, 'city-tthc.sqlite'), { readonly: true });
    const trackingCode = (receipt.find(held.idempotencyKey)!.receipt as { trackingCode: string }).trackingCode;
    receipt.close();
    const get = { method: 'GET', path: `/dossiers/${trackingCode}`, headers: { 'x-device-id': pki.deviceId } };
    const status = await answer(sim('city-tthc').url, pki, get);
    contracts.validateResponse('city-tthc', get, status);
    expect(status.body).toMatchObject({ trackingCode, procedureCode: '1.004222', status: 'received' });
    const unknown = { ...get, path: '/dossiers/000.00.01.H26-991231-9999' };
    const missing = await answer(sim('city-tthc').url, pki, unknown);
    contracts.validateResponse('city-tthc', unknown, missing);
    expect(missing.status).toBe(404);
  });

  it('hospital-fhir: one patient registered twice is one Patient with two Encounters; a resend makes nothing new', async () => {
    const url = sim('hospital-fhir').url;
    const before = sim('hospital-fhir').fhirCounts();
    const visit = of('hospital-fhir')[1]!;
    const secondVisit = { ...visit, idempotencyKey: `${visit.idempotencyKey}-2`, aggregateSeq: visit.aggregateSeq + 100 };
    const first = await answer(url, pki, requestFor('hospital-fhir', visit, device));
    const second = await answer(url, pki, requestFor('hospital-fhir', secondVisit, device));
    const resend = await answer(url, pki, requestFor('hospital-fhir', secondVisit, device));
    for (const a of [first, second, resend]) contracts.validateResponse('hospital-fhir', { method: 'POST', path: '/' }, a);
    const statuses = (a: typeof first): string[] => (a.body as { entry: Array<{ response: { status: string } }> }).entry.map((e) => e.response.status);
    expect(statuses(first)).toEqual(['201 Created', '201 Created']);
    expect(statuses(second)).toEqual(['200 OK', '201 Created']);
    expect(resend.status).toBe(409);
    const locations = (a: typeof first): string[] => (a.body as { entry: Array<{ response: { location: string } }> }).entry.map((e) => e.response.location);
    expect(locations(second)[0]).toBe(locations(first)[0]);
    expect(sim('hospital-fhir').fhirCounts()).toEqual({ patients: before.patients + 1, encounters: before.encounters + 2 });
  });

  it('hospital-fhir: a conditional create that does not search the resource\'s own identifier is refused (422), nothing held', async () => {
    const visit = of('hospital-fhir')[4]!;
    const req = requestFor('hospital-fhir', visit, device);
    const bundle = structuredClone(req.body) as { entry: Array<{ request: { ifNoneExist: string } }> };
    bundle.entry[0]!.request.ifNoneExist = 'identifier=http://fhir.ehealth.gov.vn/core/sid/cccd|000000000000';
    const before = sim('hospital-fhir').fhirCounts();
    const refused = await answer(sim('hospital-fhir').url, pki, { ...req, body: bundle });
    expect(refused.status).toBe(422);
    contracts.validateResponse('hospital-fhir', req, refused);
    expect(sim('hospital-fhir').fhirCounts()).toEqual(before);
    expect(sim('hospital-fhir').records().map((r) => r.idempotencyKey)).not.toContain(visit.idempotencyKey);
  });

  it('bhyt-check: a persona card is valid, a wrong name is a mismatch, an unknown card is not-found, all by the contract', async () => {
    const url = sim('bhyt-check').url;
    const persona = PERSONAS[0]!;
    const cases: Array<[unknown, string]> = [
      [sampleBhytLookup(persona), 'valid'],
      [{ ...sampleBhytLookup(persona), cardNumber: persona.idNumber }, 'valid'],
      [{ ...sampleBhytLookup(persona), fullName: 'Người Khác' }, 'details-mismatch'],
      [{ ...sampleBhytLookup(persona), cardNumber: 'GD4000000000000' }, 'not-found'],
    ];
    for (const [lookup, result] of cases) {
      const req = bhytLookupRequest(lookup, device);
      const a = await answer(url, pki, req);
      contracts.validateResponse('bhyt-check', req, a);
      expect(a.body).toMatchObject({ result });
    }
  });

  it.each(['city-tthc', 'population-lgsp'] as const)('%s: a request that breaks the contract is refused with a problem naming the field', async (upstream) => {
    const req = requestFor(upstream, of(upstream)[2]!, device);
    const badBody = await answer(sim(upstream).url, pki, { ...req, body: { ...(req.body as object), extra: 1 } });
    expect(badBody.status).toBe(422);
    contracts.validateResponse(upstream, req, badBody);
    expect(badBody.body).toMatchObject({ code: 'CONTRACT_VIOLATION', field: '/body' });
    const badHeader = await answer(sim(upstream).url, pki, { ...req, headers: { ...req.headers, 'x-device-seq': '0' } });
    expect(badHeader.status).toBe(400);
    contracts.validateResponse(upstream, req, badHeader);
    expect(badHeader.body).toMatchObject({ field: '/headers/x-device-seq' });
    const notJson = await answer(sim(upstream).url, pki, { ...req, body: undefined, headers: { ...req.headers, 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(sim(upstream).records().map((r) => r.idempotencyKey)).not.toContain(of(upstream)[2]!.idempotencyKey);
  });

  it('refuses a device id that is not the certificate subject (403), and the same key with another body (422)', async () => {
    const req = requestFor('population-lgsp', of('population-lgsp')[0]!, device);
    const other = await answer(sim('population-lgsp').url, pki, { ...req, headers: { ...req.headers, 'x-device-id': 'kiosk-other' } });
    expect(other.status).toBe(403);
    contracts.validateResponse('population-lgsp', req, other);
    const changed = requestFor('population-lgsp', { ...of('population-lgsp')[1]!, idempotencyKey: of('population-lgsp')[0]!.idempotencyKey }, device);
    const reused = await answer(sim('population-lgsp').url, pki, changed);
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it.each([
    ['no client certificate', null, 401],
    ['a certificate of a foreign CA', pki.clients.foreignCa, 403],
    ['an expired certificate', pki.clients.expired, 403],
    ['a revoked certificate', pki.clients.revoked, 403],
  ] as const)('refuses %s with %i and the contract problem, before any route', async (_label, client, status) => {
    const req = requestFor('city-tthc', of('city-tthc')[3]!, device);
    const refused = await answer(sim('city-tthc').url, pki, req, client);
    expect(refused.status).toBe(status);
    contracts.validateResponse('city-tthc', req, refused);
    const fhir = await answer(sim('hospital-fhir').url, pki, requestFor('hospital-fhir', of('hospital-fhir')[3]!, device), client);
    expect(fhir.status).toBe(status);
    contracts.validateResponse('hospital-fhir', { method: 'POST', path: '/' }, fhir);
    expect(sim('city-tthc').records().map((r) => r.idempotencyKey)).not.toContain(of('city-tthc')[3]!.idempotencyKey);
  });

  it('refuses a client that offers at most TLS 1.1', async () => {
    const seen = await new Promise<string>((resolveCode) => {
      const r = httpsRequest({ host: '127.0.0.1', port: sim('bhyt-check').port, method: 'GET', path: '/', agent: false, ca: [pki.serverCa.certificate], cert: pki.clients.device.certificate, key: pki.clients.device.privateKey, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
      r.on('error', (err: NodeJS.ErrnoException) => resolveCode(err.code ?? 'ERROR'));
      r.on('response', () => resolveCode('ANSWERED'));
      r.end();
    });
    expect(seen).not.toBe('ANSWERED');
  });

  it('fuzz (fast-check, seed 14, 60 cases over HTTPS): a mutated delivery gets an answer the contract declares, never a 5xx', async () => {
    const base = requestFor('city-tthc', of('city-tthc')[5]!, device);
    const headerNames = ['idempotency-key', 'x-device-stream', 'x-device-seq', 'content-type'];
    const mutation = fc.record({
      header: fc.option(fc.tuple(fc.constantFrom(...headerNames), fc.oneof(fc.string({ maxLength: 30 }), fc.constant('0'), fc.constant('text/plain'))), { nil: undefined }),
      field: fc.option(fc.tuple(fc.constantFrom('procedureCode', 'applicant', 'verification', 'form', 'extra'), fc.jsonValue({ maxDepth: 2 })), { nil: undefined }),
      key: fc.integer({ min: 0, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ header, field, key }) => {
        const headers: Record<string, string> = { ...base.headers, 'idempotency-key': `fuzz-${key}-0000/city-tthc` };
        if (header) headers[header[0]] = header[1];
        const body = field ? { ...(base.body as object), [field[0]]: field[1] } : base.body;
        const seen = await send(sim('city-tthc').url, pki, { ...base, headers, body });
        expect(seen.kind).toBe('answer');
        if (seen.kind !== 'answer') return;
        expect(seen.status).toBeLessThan(500);
        contracts.validateResponse('city-tthc', base, seen);
      }),
      { seed: 14, numRuns: 60 },
    );
  });

  it.each(['city-tthc', 'population-lgsp', 'hospital-fhir'] as const)('%s: /deliveries/check names the keys it does not hold, by the contract', async (upstream) => {
    const held = of(upstream)[0]!.idempotencyKey;
    const unknownKey = '00000000-0000-4000-8000-999999999999/' + upstream;
    const req = check(upstream, [held, unknownKey]);
    const a = await answer(sim(upstream).url, pki, req);
    contracts.validateResponse(upstream, req, a);
    expect(a.body).toEqual({ unknown: [unknownKey] });
    const tooMany = await answer(sim(upstream).url, pki, check(upstream, []));
    expect(tooMany.status).toBe(422);
  });

  it('contracts: X-Device-Received is a non-negative integer; /deliveries/check takes 1 to 500 well-formed keys', () => {
    const receipt = { receiptId: 'LGSP-00000001', recordedAt: '2026-12-06T02:00:00.000Z' };
    const req = requestFor('population-lgsp', of('population-lgsp')[0]!, device);
    expect(() => contracts.validateResponse('population-lgsp', req, { status: 201, headers: { 'content-type': 'application/json', 'x-device-received': '-1' }, body: receipt })).toThrow(/x-device-received/);
    contracts.validateResponse('population-lgsp', req, { status: 409, headers: { 'content-type': 'application/json', 'x-device-received': '7' }, body: receipt });
    const key = of('population-lgsp')[0]!.idempotencyKey;
    contracts.validateRequest('hospital-fhir', check('hospital-fhir', Array.from({ length: 500 }, () => key)));
    expect(() => contracts.validateRequest('city-tthc', check('city-tthc', Array.from({ length: 501 }, () => key)))).toThrow(/idempotencyKeys/);
    expect(() => contracts.validateRequest('city-tthc', check('city-tthc', ['short']))).toThrow(/idempotencyKeys/);
    expect(() => contracts.validateRequest('city-tthc', { ...check('city-tthc', [key]), headers: { 'content-type': 'application/json' } })).toThrow(/x-device-id/);
  });
});
