import { createHash } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import { z } from 'zod';
import type { UpstreamName } from './documents.js';
import type { ContractRequest } from './validator.js';

/**
 * What the kiosk records in an outbox row for each upstream (the row's `payload`), and the thin adapters that turn
 * it into the upstream's request: fields renamed and wrapped, nothing decided. The shapes here are the outbox's;
 * the fine rules (patterns, formats, lengths) are the contracts', checked on the built request.
 */
const idNumber = z.string();
const isoDate = z.string();
const face = z.enum(['accepted', 'rejected', 'retry', 'not-performed']);
const outcome = z.enum(['passed', 'failed', 'not-possible']);

export const cityTthcPayload = z.strictObject({
  transactionId: z.string(),
  procedureCode: z.string(),
  applicant: z.strictObject({ idNumber, fullName: z.string(), dateOfBirth: isoDate }),
  face,
  form: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export const populationLgspPayload = z.strictObject({
  transactionId: z.string(),
  idNumber,
  verdict: z.strictObject({
    decision: z.enum(['accept', 'reject', 'needs-review']),
    policy: z.string(),
    checks: z.strictObject({ sodSignature: outcome, dsChain: outcome, crl: outcome, dataGroupHashes: outcome, activeAuthentication: outcome, chipAuthentication: outcome }),
    face,
  }),
});

export const hospitalFhirPayload = z.strictObject({
  transactionId: z.string(),
  patient: z.strictObject({ idNumber, insuranceNumber: z.string().optional(), fullName: z.string(), dateOfBirth: isoDate, sex: z.enum(['Nam', 'Nữ']).optional() }),
  encounter: z.strictObject({ classCode: z.enum(['AMB', 'EMER']), service: z.string().optional() }),
});

/** Not an outbox payload: the live BHYT lookup's input (the hospital flow calls it while the citizen waits). */
export const bhytLookup = z.strictObject({ cardNumber: z.string(), fullName: z.string(), dateOfBirth: isoDate });

export type CityTthcPayload = z.infer<typeof cityTthcPayload>;
export type PopulationLgspPayload = z.infer<typeof populationLgspPayload>;
export type HospitalFhirPayload = z.infer<typeof hospitalFhirPayload>;
export type BhytLookup = z.infer<typeof bhytLookup>;

/** The upstreams the relay delivers outbox rows to (the BHYT check is a live lookup, never queued). */
export type DeliveredUpstream = Exclude<UpstreamName, 'bhyt-check'>;

/** What the relay holds of a claimed outbox row (`DueDelivery` from @kiosk/store fits). */
export interface OutboxDelivery {
  upstream: string;
  idempotencyKey: string;
  aggregate: string;
  aggregateSeq: number;
  payload: Record<string, unknown>;
}

export interface DeviceIdentity {
  /** The kiosk's device id, as in its client certificate. */
  deviceId: string;
}

/** vn-core-ig identifier systems: BHYT from the IG's NamingSystem insurance_number; CCCD to verify (see the contract). */
export const FHIR_SYSTEMS = {
  cccd: 'http://fhir.ehealth.gov.vn/core/sid/cccd',
  insuranceNumber: 'http://fhir.ehealth.gov.vn/core/sid/insurance_number',
  encounter: 'urn:kiosk:encounter',
  patientProfile: 'http://fhir.ehealth.gov.vn/core/StructureDefinition/vn-core-patient',
  encounterProfile: 'http://fhir.ehealth.gov.vn/core/StructureDefinition/vn-core-encounter',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
} as const;

function parsePayload<T>(upstream: string, schema: z.ZodType<T>, payload: unknown): T {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 20).map((i) => ({ pointer: `/payload${i.path.map((p) => `/${String(p)}`).join('')}`, message: i.message }));
  throw new KioskError('CONTRACT_VIOLATION', `${upstream} outbox payload: ${problems[0]?.pointer ?? '/payload'} ${problems[0]?.message ?? 'invalid'}`, {
    details: { contract: upstream, operation: 'payload', direction: 'request', pointer: problems[0]?.pointer ?? '/payload', problems },
  });
}

/** A stable urn:uuid per entry, so every resend of one delivery is byte-for-byte the same Bundle. */
function entryUrn(idempotencyKey: string, entry: string): string {
  const h = createHash('sha256').update(`${idempotencyKey}#${entry}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function dossierBody(p: CityTthcPayload): unknown {
  return {
    procedureCode: p.procedureCode,
    applicant: p.applicant,
    verification: { transactionId: p.transactionId, method: 'cccd-chip', decision: 'accept', face: p.face },
    form: p.form,
  };
}

function verificationBody(p: PopulationLgspPayload): unknown {
  return { idNumber: p.idNumber, transactionId: p.transactionId, method: 'cccd-chip', verdict: p.verdict };
}

function registrationBundle(p: HospitalFhirPayload, idempotencyKey: string): unknown {
  const patientUrl = entryUrn(idempotencyKey, 'patient');
  const identifier: Array<{ use: 'official'; system: string; value: string }> = [{ use: 'official', system: FHIR_SYSTEMS.cccd, value: p.patient.idNumber }];
  if (p.patient.insuranceNumber !== undefined) identifier.push({ use: 'official', system: FHIR_SYSTEMS.insuranceNumber, value: p.patient.insuranceNumber });
  const gender = p.patient.sex === 'Nam' ? 'male' : p.patient.sex === 'Nữ' ? 'female' : 'unknown';
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: patientUrl,
        resource: { resourceType: 'Patient', meta: { profile: [FHIR_SYSTEMS.patientProfile] }, identifier, name: [{ use: 'official', text: p.patient.fullName }], birthDate: p.patient.dateOfBirth, gender },
        // Conditional create on the CCCD: a patient the hospital already has (or a resend) is matched, not duplicated.
        request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${FHIR_SYSTEMS.cccd}|${p.patient.idNumber}` },
      },
      {
        fullUrl: entryUrn(idempotencyKey, 'encounter'),
        resource: {
          resourceType: 'Encounter',
          meta: { profile: [FHIR_SYSTEMS.encounterProfile] },
          identifier: [{ system: FHIR_SYSTEMS.encounter, value: idempotencyKey }],
          status: 'arrived',
          class: { system: FHIR_SYSTEMS.actCode, code: p.encounter.classCode },
          ...(p.encounter.service === undefined ? {} : { serviceType: { text: p.encounter.service } }),
          subject: { reference: patientUrl },
        },
        // The visit is keyed by the idempotency key, so a resent transaction finds the Encounter it already made.
        request: { method: 'POST', url: 'Encounter', ifNoneExist: `identifier=${FHIR_SYSTEMS.encounter}|${idempotencyKey}` },
      },
    ],
  };
}

const BUILDERS: Record<DeliveredUpstream, { path: string; contentType: string; body(payload: unknown, delivery: OutboxDelivery): unknown }> = {
  'city-tthc': { path: '/dossiers', contentType: 'application/json', body: (p) => dossierBody(parsePayload('city-tthc', cityTthcPayload, p)) },
  'population-lgsp': { path: '/identity-verifications', contentType: 'application/json', body: (p) => verificationBody(parsePayload('population-lgsp', populationLgspPayload, p)) },
  'hospital-fhir': { path: '/', contentType: 'application/fhir+json', body: (p, d) => registrationBundle(parsePayload('hospital-fhir', hospitalFhirPayload, p), d.idempotencyKey) },
};

export const isDeliveredUpstream = (name: string): name is DeliveredUpstream => Object.hasOwn(BUILDERS, name);

/**
 * The request for one outbox delivery: its payload in the upstream's shape, with the idempotency key and the
 * device's stream and sequence number as headers. Deterministic: a resend is the same request. The device clock
 * is not part of it (a caller may add `X-Device-Time`, informative only).
 */
export function requestFor(upstream: DeliveredUpstream, delivery: OutboxDelivery, device: DeviceIdentity): ContractRequest {
  const builder = BUILDERS[upstream];
  if (!isDeliveredUpstream(upstream) || delivery.upstream !== upstream) {
    throw new KioskError('CONTRACT_VIOLATION', `delivery for "${delivery.upstream}" cannot go to "${String(upstream)}"`, { details: { contract: String(upstream), pointer: '/upstream' } });
  }
  return {
    method: 'POST',
    path: builder.path,
    headers: {
      'content-type': builder.contentType,
      'idempotency-key': delivery.idempotencyKey,
      'x-device-id': device.deviceId,
      'x-device-stream': delivery.aggregate,
      'x-device-seq': String(delivery.aggregateSeq),
    },
    body: builder.body(delivery.payload, delivery),
  };
}

/** The live BHYT card lookup. Its URL holds no credentials on our side; the adapter to the real gateway adds them and must never log that URL. */
export function bhytLookupRequest(lookup: unknown, device: DeviceIdentity): ContractRequest {
  const body = parsePayload('bhyt-check', bhytLookup, lookup);
  return { method: 'POST', path: '/insurance-cards/lookup', headers: { 'content-type': 'application/json', 'x-device-id': device.deviceId }, body };
}
