import { KioskError } from '@kiosk/common';
import { v7 as uuidv7 } from 'uuid';
import { audit, type StoreContext } from './context.js';
import { writeTransaction, sql } from './database.js';
import { pooledRandom, type DataKey } from './field-crypto.js';
import { assertNoImages, assertVerdict, type JsonValue, type Verdict } from './field-guard.js';

export const TRANSACTION_KINDS = ['identity-verification', 'public-service-submission', 'hospital-registration', 'notary-verification'] as const;
/**
 * `needs-review`: the card verified only with warnings (a gap the policy tolerates only with a staff check, e.g. no
 * clone detection or no current CRL). Never recorded as `completed`; the verdict carries the reasons. Schema 004.
 */
export const TRANSACTION_STATUSES = ['completed', 'needs-review', 'rejected', 'failed', 'cancelled'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

/** The citizen a transaction is about: encrypted as a whole; the ID number is also indexed by keyed hash. */
export interface CitizenFields {
  /** 12-digit CCCD number (or 9-digit old CMND). */
  idNumber: string;
  /** Other personal fields (name, date of birth, address, ...). Never images. */
  fields?: Record<string, JsonValue>;
}

/** One upstream delivery: the payload is encrypted at rest and handed to the sync agent as it was given. */
export interface NewDelivery {
  /** Upstream system name, e.g. "dvc" (administrative procedures), "population", "his". */
  upstream: string;
  /** Ordering stream: deliveries of one aggregate go upstream in sequence order. Default: the upstream. */
  aggregate?: string;
  payload: Record<string, JsonValue>;
}

export interface NewTransaction {
  /**
   * A random UUID the caller drew, when its outbox payloads must name the transaction (the upstream contracts carry
   * it); the store draws one otherwise. A duplicate is refused by the primary key, nothing is overwritten.
   */
  id?: string;
  kind: TransactionKind;
  status: TransactionStatus;
  /** Non-personal summary (stored in clear): e.g. { chip: 'genuine', face: 'match', score: 0.71 }. */
  verdict: Verdict;
  citizen?: CitizenFields;
  /** Every upstream delivery of this transaction; `[]` when nothing goes upstream. */
  deliveries: readonly NewDelivery[];
}

export interface RecordedDelivery {
  id: number;
  upstream: string;
  idempotencyKey: string;
  aggregate: string;
  aggregateSeq: number;
}

export interface RecordedTransaction {
  id: string;
  seq: number;
  createdAt: number;
  deliveries: RecordedDelivery[];
}

export interface StoredTransaction {
  id: string;
  seq: number;
  kind: TransactionKind;
  status: TransactionStatus;
  verdict: Verdict;
  createdAt: number;
  /** Undefined after retention or erasure removed the personal fields. */
  citizen: CitizenFields | undefined;
  redactedAt: number | null;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function validate(input: NewTransaction): void {
  if (input.id !== undefined && !UUID.test(input.id)) throw new KioskError('STORE_FIELD_REJECTED', 'a transaction id must be a lower-case RFC 9562 UUID');
  if (!TRANSACTION_KINDS.includes(input.kind)) throw new KioskError('STORE_FIELD_REJECTED', `unknown transaction kind "${String(input.kind)}"`);
  if (!TRANSACTION_STATUSES.includes(input.status)) throw new KioskError('STORE_FIELD_REJECTED', `unknown transaction status "${String(input.status)}"`);
  assertVerdict(input.verdict);
  if (input.citizen) assertNoImages(input.citizen.fields ?? {}, 'citizen.fields');
  const deliveries: unknown = input.deliveries;
  if (!Array.isArray(deliveries)) throw new KioskError('STORE_FIELD_REJECTED', 'deliveries must be a list (empty when nothing goes upstream)');
  const upstreams = new Set<string>();
  input.deliveries.forEach((d, i) => {
    if (!NAME.test(d.upstream)) throw new KioskError('STORE_FIELD_REJECTED', `deliveries[${i}].upstream must be a short lower-case name`);
    if (d.aggregate !== undefined && !NAME.test(d.aggregate)) throw new KioskError('STORE_FIELD_REJECTED', `deliveries[${i}].aggregate must be a short lower-case name`);
    if (upstreams.has(d.upstream)) throw new KioskError('STORE_FIELD_REJECTED', `deliveries[${i}]: upstream "${d.upstream}" appears twice in one transaction`);
    upstreams.add(d.upstream);
    assertNoImages(d.payload, `deliveries[${i}].payload`);
  });
}

export const personalAad = (id: string): string => `transactions.personal:${id}`;
export const payloadAad = (idempotencyKey: string): string => `outbox.payload:${idempotencyKey}`;

/**
 * Records a transaction and all its outbox deliveries in one SQLite transaction: both are on disk (fsynced) when this
 * returns, or neither is. The only way to create outbox rows, so a delivery without its transaction cannot exist.
 */
export function recordTransaction(ctx: StoreContext, input: NewTransaction): RecordedTransaction {
  return recordMany(ctx, [input])[0]!;
}

/**
 * Records several transactions in ONE SQLite transaction (one fsync): all of them, or none when any is refused. For
 * bulk loads (synthetic load, imports); the kiosk records each citizen on its own so each is durable before it answers.
 */
export function recordMany(ctx: StoreContext, inputs: readonly NewTransaction[]): RecordedTransaction[] {
  inputs.forEach(validate);
  const citizenHashes = inputs.map((input) => (input.citizen ? ctx.keyring.citizenHash(input.citizen.idNumber) : null));
  return writeTransaction(ctx.db, inputs.length === 1 ? 'cannot record the transaction' : 'cannot record the transactions', () => {
    const now = ctx.now();
    const key = ctx.keyring.current();
    return inputs.map((input, i) => insertTransaction(ctx, input, citizenHashes[i]!, now, key));
  });
}

function insertTransaction(ctx: StoreContext, input: NewTransaction, citizenHash: Buffer | null, now: number, key: DataKey): RecordedTransaction {
  // Unless the caller drew it (so its payloads can name it): time-ordered (UUIDv7, 74 random bits): the three indexes keyed by the id (primary key, idempotency key,
  // outbox_transaction) grow at their right edge instead of each commit dirtying a random leaf; on a store of 50k
  // transactions that cut a record's CPU by a fifth. The creation time it shows is stored in clear anyway. Random
  // bits from the pool: in the same millisecond ids then follow in random order, still at the right edge.
  const id = input.id ?? uuidv7({ random: pooledRandom(16) });
  const seq = (sql(ctx.db, 'SELECT coalesce(max(seq), 0) + 1 AS seq FROM transactions').get() as { seq: number }).seq;
  const personal = input.citizen ? ctx.keyring.seal({ idNumber: input.citizen.idNumber, fields: input.citizen.fields ?? {} }, personalAad(id), key) : null;
  sql(ctx.db, 'INSERT INTO transactions (id, seq, kind, status, verdict, citizen_hmac, personal, key_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(id, seq, input.kind, input.status, JSON.stringify(input.verdict), citizenHash, personal?.sealed ?? null, personal?.keyId ?? null, now);
  const deliveries = input.deliveries.map((d): RecordedDelivery => {
    const aggregate = d.aggregate ?? d.upstream;
    const aggregateSeq = (sql(ctx.db, 'SELECT coalesce(max(aggregate_seq), 0) + 1 AS n FROM outbox WHERE aggregate = ?').get(aggregate) as { n: number }).n;
    const idempotencyKey = `${id}/${d.upstream}`;
    const payload = ctx.keyring.seal(d.payload, payloadAad(idempotencyKey), key);
    const rowId = sql(ctx.db, 'INSERT INTO outbox (transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, payload, key_id, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, d.upstream, idempotencyKey, aggregate, aggregateSeq, payload.sealed, payload.keyId, now).lastInsertRowid;
    return { id: Number(rowId), upstream: d.upstream, idempotencyKey, aggregate, aggregateSeq };
  });
  audit(ctx, { actor: 'kiosk', action: 'transaction.recorded', subject: id, detail: { kind: input.kind, status: input.status, deliveries: deliveries.length } }, now);
  return { id, seq, createdAt: now, deliveries };
}

interface TransactionRow {
  id: string;
  seq: number;
  kind: TransactionKind;
  status: TransactionStatus;
  verdict: string;
  personal: Buffer | null;
  created_at: number;
  redacted_at: number | null;
}

function toStored(ctx: StoreContext, row: TransactionRow): StoredTransaction {
  return {
    id: row.id,
    seq: row.seq,
    kind: row.kind,
    status: row.status,
    verdict: JSON.parse(row.verdict) as Verdict,
    createdAt: row.created_at,
    citizen: row.personal ? (ctx.keyring.open(row.personal, personalAad(row.id)) as CitizenFields) : undefined,
    redactedAt: row.redacted_at,
  };
}

const SELECT = 'SELECT id, seq, kind, status, verdict, personal, created_at, redacted_at FROM transactions';

export function getTransaction(ctx: StoreContext, id: string): StoredTransaction | undefined {
  const row = sql(ctx.db, `${SELECT} WHERE id = ?`).get(id) as TransactionRow | undefined;
  return row ? toStored(ctx, row) : undefined;
}

/** A citizen's transactions still holding personal data, found through the keyed hash (never a plaintext scan). */
export function findByCitizen(ctx: StoreContext, idNumber: string): StoredTransaction[] {
  const rows = sql(ctx.db, `${SELECT} WHERE citizen_hmac = ? ORDER BY seq`).all(ctx.keyring.citizenHash(idNumber)) as TransactionRow[];
  return rows.map((r) => toStored(ctx, r));
}

/** One exported line: what happened and where it went, without any personal field. */
export interface RedactedRecord {
  id: string;
  seq: number;
  kind: TransactionKind;
  status: TransactionStatus;
  verdict: Verdict;
  createdAt: string;
  personalData: 'encrypted' | 'erased' | 'none';
  deliveries: Array<{ upstream: string; idempotencyKey: string; aggregate: string; aggregateSeq: number; attempts: number; deliveredAt: string | null; deadLetter: boolean; lastError: string | null }>;
}

export function* exportRedacted(ctx: StoreContext, since: number): Generator<RedactedRecord> {
  const deliveries = sql(ctx.db, 'SELECT upstream, idempotency_key, aggregate, aggregate_seq, attempts, delivered_at, dead_letter, last_error FROM outbox WHERE transaction_id = ? ORDER BY id');
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  for (const row of sql(ctx.db, `${SELECT} WHERE created_at >= ? ORDER BY seq`).iterate(since) as IterableIterator<TransactionRow>) {
    const outbox = deliveries.all(row.id) as Array<{ upstream: string; idempotency_key: string; aggregate: string; aggregate_seq: number; attempts: number; delivered_at: number | null; dead_letter: number; last_error: string | null }>;
    yield {
      id: row.id,
      seq: row.seq,
      kind: row.kind,
      status: row.status,
      verdict: JSON.parse(row.verdict) as Verdict,
      createdAt: new Date(row.created_at).toISOString(),
      personalData: row.personal ? 'encrypted' : row.redacted_at !== null ? 'erased' : 'none',
      deliveries: outbox.map((o) => ({ upstream: o.upstream, idempotencyKey: o.idempotency_key, aggregate: o.aggregate, aggregateSeq: o.aggregate_seq, attempts: o.attempts, deliveredAt: iso(o.delivered_at), deadLetter: o.dead_letter === 1, lastError: o.last_error })),
    };
  }
}
