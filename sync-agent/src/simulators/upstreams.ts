import type { DeliveredUpstream } from '../contracts/index.js';
import type { SimulatorDb, StoredDelivery } from './sim-db.js';

/** What an upstream answers to a delivery it accepts, built inside the transaction that records it. */
export interface Acceptance {
  status: number;
  receipt: unknown;
  /** What a later lookup finds the delivery by (the city's tracking code). */
  ref?: string;
  meta?: Record<string, string>;
}

/** A refusal by a rule of the upstream (not the contract's shape): 422 with the reason. */
export class BusinessRuleError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
  }
}

interface DeliveryContext {
  db: SimulatorDb;
  body: unknown;
  idempotencyKey: string;
  arrival: number;
  now: Date;
}

const yymmdd = (d: Date): string => d.toISOString().slice(2, 10).replace(/-/g, '');

type FhirEntry = { resource: { identifier: Array<{ system: string; value: string }> }; request: { ifNoneExist: string } };

function conditionalCreate(ctx: DeliveryContext, type: 'Patient' | 'Encounter', entry: FhirEntry, index: number): { response: { status: string; location: string } } {
  const [first] = entry.resource.identifier;
  const expected = `identifier=${first?.system ?? ''}|${first?.value ?? ''}`;
  // The search must be on the resource's own identifier, or "match, never duplicate" means nothing.
  if (entry.request.ifNoneExist !== expected) throw new BusinessRuleError(`${type} ifNoneExist must search the resource's first identifier`, `/body/entry/${index}/request/ifNoneExist`);
  const { id, created } = ctx.db.conditionalCreate(type, expected.slice('identifier='.length), ctx.idempotencyKey);
  return { response: { status: created ? '201 Created' : '200 OK', location: `${type}/${type === 'Patient' ? 'p' : 'e'}${id}/_history/1` } };
}

/**
 * Each delivering upstream's own work on an accepted delivery (the body is already valid by the contract). The
 * receipts follow the contracts: the city's tracking code (mã hồ sơ) in the common "unit code-date-serial" form,
 * the LGSP's receipt id, the hospital's transaction-response Bundle.
 */
export const ACCEPT: Record<DeliveredUpstream, (ctx: DeliveryContext) => Acceptance> = {
  'city-tthc': ({ body, arrival, now }) => {
    const trackingCode = `000.00.01.H26-${yymmdd(now)}-${String(arrival).padStart(4, '0')}`;
    const procedureCode = (body as { procedureCode: string }).procedureCode;
    return { status: 201, receipt: { trackingCode, status: 'received', receivedAt: now.toISOString() }, ref: trackingCode, meta: { procedureCode } };
  },
  'population-lgsp': ({ arrival, now }) => ({ status: 201, receipt: { receiptId: `LGSP-${String(arrival).padStart(8, '0')}`, recordedAt: now.toISOString() } }),
  'hospital-fhir': (ctx) => {
    const [patient, encounter] = (ctx.body as { entry: [FhirEntry, FhirEntry] }).entry;
    const entry = [conditionalCreate(ctx, 'Patient', patient, 0), conditionalCreate(ctx, 'Encounter', encounter, 1)];
    return { status: 200, receipt: { resourceType: 'Bundle', type: 'transaction-response', entry } };
  },
};

/** The city system's status answer for a dossier it holds. */
export const dossierStatus = (d: StoredDelivery): unknown => ({ trackingCode: d.ref, procedureCode: d.meta?.procedureCode, status: 'received', updatedAt: d.receivedAt });

/** A synthetic BHYT card of the simulated insurer's table. */
export interface BhytCard {
  number: string;
  /** The holder's CCCD number: the gateway also finds a card by it. */
  idNumber: string;
  fullName: string;
  dateOfBirth: string;
  validFrom: string;
  validTo: string;
  facilityCode: string;
  suspended?: boolean;
}

/**
 * The default card table: invented holders, no real person (tests pass cards derived from the fixtures' personas
 * through the `bhytCards` option instead; the simulator's runtime code may not import @kiosk/fixtures).
 */
export const DEFAULT_BHYT_CARDS: readonly BhytCard[] = [
  { number: 'GD4790000000001', idNumber: '079000000001', fullName: 'Thẻ Mẫu Một', dateOfBirth: '1990-01-01', validFrom: '2026-01-01', validTo: '2030-12-31', facilityCode: '01001' },
  { number: 'HT3790000000002', idNumber: '079000000002', fullName: 'Thẻ Mẫu Hai', dateOfBirth: '1950-02-02', validFrom: '2022-01-01', validTo: '2024-12-31', facilityCode: '01002' },
  { number: 'DN4790000000003', idNumber: '079000000003', fullName: 'Thẻ Mẫu Ba', dateOfBirth: '1985-03-03', validFrom: '2026-01-01', validTo: '2030-12-31', facilityCode: '01003', suspended: true },
];

/** Synthetic result codes (the insurer's own maKetQua table is not public); stable so staff screens can be tested. */
export const BHYT_RESULT_CODES = { valid: '000', 'not-found': '010', 'details-mismatch': '060', expired: '070', suspended: '080' } as const;

const sameName = (a: string, b: string): boolean => a.normalize('NFC').trim().toLocaleLowerCase('vi') === b.normalize('NFC').trim().toLocaleLowerCase('vi');

/** The BHYT lookup: by card number or CCCD number, then name and birth date, then the card's state on the server's date. */
export function bhytAnswer(cards: readonly BhytCard[], lookup: { cardNumber: string; fullName: string; dateOfBirth: string }, now: Date): unknown {
  const card = cards.find((c) => (lookup.cardNumber.length === 12 ? c.idNumber : c.number) === lookup.cardNumber);
  const checkedAt = now.toISOString();
  if (!card) return { result: 'not-found', resultCode: BHYT_RESULT_CODES['not-found'], checkedAt };
  // A mismatch says nothing about the card: the answer must not confirm a number to someone who does not hold it.
  if (!sameName(card.fullName, lookup.fullName) || card.dateOfBirth !== lookup.dateOfBirth) return { result: 'details-mismatch', resultCode: BHYT_RESULT_CODES['details-mismatch'], checkedAt };
  const today = checkedAt.slice(0, 10);
  const result = card.suspended ? 'suspended' : card.validTo < today || card.validFrom > today ? 'expired' : 'valid';
  return { result, resultCode: BHYT_RESULT_CODES[result], card: { number: card.number, validFrom: card.validFrom, validTo: card.validTo, facilityCode: card.facilityCode }, checkedAt };
}
