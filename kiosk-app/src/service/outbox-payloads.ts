import type { CheckName, CheckOutcome, Decision } from '../shared/identity-api.js';
import type { Applicant } from './visit.js';

/**
 * The outbox payloads the kiosk records for the sync agent, as data shapes only: the kiosk may not import the sync
 * agent (docs/ARCHITECTURE.md, dependency rules), whose zod schemas in sync-agent/src/contracts/requests.ts are the
 * reference (`populationLgspPayload`, `cityTthcPayload`); the kiosk's tests validate these against them.
 */
export const POPULATION_UPSTREAM = 'population-lgsp';
export { CITY_UPSTREAM } from '../shared/dossier-api.js';

// Type aliases, not interfaces: they fit the store's JSON payload type without an index signature.
export type PopulationLgspPayload = {
  transactionId: string;
  idNumber: string;
  /** Only accepted checks are reported, so the face was accepted or not performed. */
  verdict: { decision: Decision; policy: string; checks: Record<CheckName, CheckOutcome>; face: Applicant['face'] };
};

export type CityTthcPayload = {
  transactionId: string;
  procedureCode: string;
  applicant: { idNumber: string; fullName: string; dateOfBirth: string };
  face: Applicant['face'];
  /** The procedure's own fields; the demonstration procedure has none (the catalogue of issue 16 adds forms). */
  form: Record<string, string>;
};

/** dd/mm/yyyy as the card writes it to ISO yyyy-mm-dd as the contracts take it; undefined for anything else. */
export function isoDateOf(cardDate: string | undefined): string | undefined {
  const m = /^([0-9]{2})\/([0-9]{2})\/([0-9]{4})$/.exec(cardDate ?? '');
  return m ? `${m[3]}-${m[2]}-${m[1]}` : undefined;
}

export function populationPayload(transactionId: string, applicant: Applicant, verdict: Omit<PopulationLgspPayload['verdict'], 'face'>): PopulationLgspPayload {
  return { transactionId, idNumber: applicant.idNumber, verdict: { decision: verdict.decision, policy: verdict.policy, checks: { ...verdict.checks }, face: applicant.face } };
}

export function dossierPayload(transactionId: string, procedureCode: string, applicant: Applicant): CityTthcPayload {
  return {
    transactionId,
    procedureCode,
    applicant: { idNumber: applicant.idNumber, fullName: applicant.fullName, dateOfBirth: applicant.dateOfBirth },
    face: applicant.face,
    form: {},
  };
}
