import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { PERSONAS, SAMPLE_DEVICE_ID, DELIVERED_UPSTREAMS, sampleDeliveries, sampleAnswers, sampleDossierStatus, sampleBhytLookup, sampleBhytAnswers, sampleTrackingCode } from '@kiosk/fixtures';
import { Contracts, UPSTREAMS, contractFile, parseContract, readContract, requestFor, bhytLookupRequest, FHIR_SYSTEMS, type ContractRequest, type UpstreamName } from '../src/contracts/index.js';

const device = { deviceId: SAMPLE_DEVICE_ID };
let contracts: Contracts;
beforeAll(async () => {
  contracts = await Contracts.load();
});

/** Runs `fn` and answers the CONTRACT_VIOLATION it throws (fails the test when it throws nothing or something else). */
function violationOf(fn: () => unknown): { pointer: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isKioskError(err) && err.code === 'CONTRACT_VIOLATION') return { pointer: String(err.details?.pointer), message: err.message };
    throw err;
  }
  throw new Error('expected CONTRACT_VIOLATION, nothing was thrown');
}

const requests = (): Array<{ upstream: (typeof DELIVERED_UPSTREAMS)[number]; request: ContractRequest }> =>
  sampleDeliveries().map((d) => ({ upstream: d.upstream, request: requestFor(d.upstream, d, device) }));

describe('contract documents', () => {
  it.each(UPSTREAMS)('%s is a valid OpenAPI 3.1 document that says the real specification is not public and cites sources', async (name) => {
    const document = await readContract(name);
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.info.description).toMatch(/not public/);
    expect(document.info.description).toMatch(/Sources:.*https:\/\//s);
    expect(document.info.description).toMatch(/thin/);
  });

  it('refuses a document that is not OpenAPI 3.1 with CONTRACT_INVALID', async () => {
    const text = await readFile(contractFile('city-tthc'), 'utf8');
    await expect(parseContract('broken', text.replace('openapi: 3.1.0', 'openapi: 3.0.3'))).rejects.toMatchObject({ code: 'CONTRACT_INVALID' });
    await expect(parseContract('broken', text.replace(/\n {2}\/dossiers:\n/, '\n  dossiers:\n'))).rejects.toMatchObject({ code: 'CONTRACT_INVALID' });
    await expect(parseContract('broken', 'openapi: [3.1')).rejects.toMatchObject({ code: 'CONTRACT_INVALID' });
    await expect(parseContract('broken', 'just text')).rejects.toMatchObject({ code: 'CONTRACT_INVALID' });
  });

  it('every write operation requires the idempotency key and the device id, stream and sequence number', async () => {
    for (const name of DELIVERED_UPSTREAMS) {
      const request = requests().find((r) => r.upstream === name)?.request;
      if (!request) throw new Error(`no sample request for ${name}`);
      for (const header of ['idempotency-key', 'x-device-id', 'x-device-stream', 'x-device-seq']) {
        const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== header));
        expect(violationOf(() => contracts.validateRequest(name, { ...request, headers })).pointer).toBe(`/headers/${header}`);
      }
    }
  });
});

describe('the agent\'s requests', () => {
  it(`every sample delivery (${DELIVERED_UPSTREAMS.length} upstreams x ${PERSONAS.length} personas) builds a request its contract accepts`, () => {
    const all = requests();
    expect(all).toHaveLength(DELIVERED_UPSTREAMS.length * PERSONAS.length);
    for (const { upstream, request } of all) expect(contracts.validateRequest(upstream, request)).toMatch(/^(submitDossier|recordIdentityVerification|registerVisit)$/);
  });

  it('carries the idempotency key and the per-stream sequence number, and does not depend on the device clock', () => {
    const [delivery] = sampleDeliveries();
    if (!delivery) throw new Error('no sample');
    vi.useFakeTimers();
    try {
      vi.setSystemTime(new Date('2001-01-01T00:00:00Z'));
      const before = requestFor(delivery.upstream, delivery, device);
      vi.setSystemTime(new Date('2040-06-01T12:00:00Z'));
      const after = requestFor(delivery.upstream, delivery, device);
      expect(after).toEqual(before);
      expect(before.headers).toMatchObject({ 'idempotency-key': delivery.idempotencyKey, 'x-device-seq': String(delivery.aggregateSeq), 'x-device-id': SAMPLE_DEVICE_ID });
    } finally {
      vi.useRealTimers();
    }
  });

  it('the FHIR Bundle creates the Patient only if none has the CCCD, the Encounter only if none has the idempotency key', () => {
    const delivery = sampleDeliveries().find((d) => d.upstream === 'hospital-fhir');
    if (!delivery) throw new Error('no sample');
    const persona = PERSONAS[0];
    const bundle = requestFor('hospital-fhir', delivery, device).body as { entry: Array<{ fullUrl: string; resource: { identifier: Array<{ system: string; value: string }>; subject?: { reference: string } }; request: { ifNoneExist: string } }> };
    const [patient, encounter] = bundle.entry;
    expect(patient?.request.ifNoneExist).toBe(`identifier=${FHIR_SYSTEMS.cccd}|${persona?.idNumber}`);
    expect(patient?.resource.identifier.map((i) => i.system)).toEqual([FHIR_SYSTEMS.cccd, FHIR_SYSTEMS.insuranceNumber]);
    expect(encounter?.request.ifNoneExist).toBe(`identifier=${FHIR_SYSTEMS.encounter}|${delivery.idempotencyKey}`);
    expect(encounter?.resource.subject?.reference).toBe(patient?.fullUrl);
    // Another delivery gets other entry ids; the same delivery always the same ones (a resend is the same Bundle).
    const other = sampleDeliveries().filter((d) => d.upstream === 'hospital-fhir')[1];
    if (!other) throw new Error('no second sample');
    expect((requestFor('hospital-fhir', other, device).body as typeof bundle).entry[0]?.fullUrl).not.toBe(patient?.fullUrl);
  });

  it('refuses an outbox payload of the wrong shape, and a delivery sent to another upstream, with CONTRACT_VIOLATION', () => {
    const delivery = sampleDeliveries().find((d) => d.upstream === 'city-tthc');
    if (!delivery) throw new Error('no sample');
    const withoutApplicant = Object.fromEntries(Object.entries(delivery.payload).filter(([k]) => k !== 'applicant'));
    expect(violationOf(() => requestFor('city-tthc', { ...delivery, payload: withoutApplicant }, device)).pointer).toBe('/payload/applicant');
    expect(violationOf(() => requestFor('city-tthc', { ...delivery, payload: { ...delivery.payload, face: 'maybe' } }, device)).pointer).toBe('/payload/face');
    expect(violationOf(() => requestFor('population-lgsp', delivery, device)).pointer).toBe('/upstream');
  });

  it('refuses broken requests: wrong types, a bad sequence number, a body field too many, an unknown path', () => {
    const { request } = requests()[0] ?? { request: undefined };
    if (!request) throw new Error('no sample');
    const body = request.body as { applicant: Record<string, unknown> };
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, body: { ...body, applicant: { ...body.applicant, idNumber: 1093000123 } } })).pointer).toBe('/body/applicant/idNumber');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, headers: { ...request.headers, 'x-device-seq': 'abc' } })).pointer).toBe('/headers/x-device-seq');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, headers: { ...request.headers, 'x-device-seq': '0' } })).pointer).toBe('/headers/x-device-seq');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, body: { ...body, extra: true } })).pointer).toBe('/body');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, body: undefined })).pointer).toBe('/body');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, headers: { ...request.headers, 'content-type': 'text/plain' } })).pointer).toBe('/headers/content-type');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, path: '/dossierz' })).pointer).toBe('/path');
    expect(violationOf(() => contracts.validateRequest('city-tthc', { ...request, method: 'PUT' })).pointer).toBe('/path');
    expect(violationOf(() => contracts.validateRequest('nowhere' as UpstreamName, request)).pointer).toBe('');
  });

  it('the city status lookup: a tracking code in the path, checked against the contract', () => {
    const get = (path: string): ContractRequest => ({ method: 'GET', path, headers: { 'x-device-id': SAMPLE_DEVICE_ID } });
    expect(contracts.validateRequest('city-tthc', get(`/dossiers/${encodeURIComponent(sampleTrackingCode(0))}`))).toBe('getDossierStatus');
    expect(violationOf(() => contracts.validateRequest('city-tthc', get('/dossiers/lower-case')))).toMatchObject({ pointer: '/path/trackingCode' });
    expect(violationOf(() => contracts.validateRequest('city-tthc', get('/dossiers/%E0%A4%A')))).toMatchObject({ pointer: '/path/trackingCode' });
  });

  it('the BHYT lookup request of every persona validates; its contract names the query-string credentials danger', async () => {
    for (const persona of PERSONAS) expect(contracts.validateRequest('bhyt-check', bhytLookupRequest(sampleBhytLookup(persona), device))).toBe('lookupInsuranceCard');
    expect((await readContract('bhyt-check')).info.description).toMatch(/never\s+log a raw URL/);
    expect(violationOf(() => bhytLookupRequest({ cardNumber: 'GD4001093000123' }, device)).pointer).toBe('/payload/fullName');
  });
});

describe('the upstreams\' answers', () => {
  it.each(DELIVERED_UPSTREAMS)('every sample answer of %s validates against its contract', (upstream) => {
    const request = requests().find((r) => r.upstream === upstream)?.request;
    if (!request) throw new Error('no sample');
    const answers = sampleAnswers(upstream);
    expect(answers.map((a) => a.status)).toEqual(expect.arrayContaining([400, 401, 403, 409, 422, 429, 503]));
    for (const answer of answers) contracts.validateResponse(upstream, request, answer);
  });

  it('the status lookup and BHYT answers validate', () => {
    for (const answer of sampleDossierStatus()) contracts.validateResponse('city-tthc', { method: 'GET', path: `/dossiers/${sampleTrackingCode(0)}` }, answer);
    for (const persona of PERSONAS) for (const answer of sampleBhytAnswers(persona)) contracts.validateResponse('bhyt-check', { method: 'POST', path: '/insurance-cards/lookup' }, answer);
  });

  it('refuses broken answers: an unknown dossier status, an undeclared HTTP status, 429 without Retry-After, a wrong type', () => {
    const submit = { method: 'POST', path: '/dossiers' };
    const [accepted] = sampleAnswers('city-tthc');
    if (!accepted) throw new Error('no sample');
    const body = accepted.body as Record<string, unknown>;
    expect(violationOf(() => contracts.validateResponse('city-tthc', submit, { ...accepted, body: { ...body, status: 'teleported' } })).pointer).toBe('/body/status');
    expect(violationOf(() => contracts.validateResponse('city-tthc', submit, { ...accepted, status: 418 })).pointer).toBe('/status');
    expect(violationOf(() => contracts.validateResponse('city-tthc', submit, { ...accepted, body: { ...body, receivedAt: 42 } })).pointer).toBe('/body/receivedAt');
    const throttled = sampleAnswers('city-tthc').find((a) => a.status === 429);
    if (!throttled) throw new Error('no sample');
    expect(violationOf(() => contracts.validateResponse('city-tthc', submit, { ...throttled, headers: { 'content-type': 'application/problem+json' } })).pointer).toBe('/headers/retry-after');
    const fhir = sampleAnswers('hospital-fhir')[0];
    if (!fhir) throw new Error('no sample');
    expect(violationOf(() => contracts.validateResponse('hospital-fhir', { method: 'POST', path: '/' }, { ...fhir, body: { ...(fhir.body as object), type: 'batch-response' } })).pointer).toBe('/body/type');
  });
});
