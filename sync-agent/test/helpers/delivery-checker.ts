import Database from 'better-sqlite3';
import type { DeliveryRecord } from '../../src/simulators/index.js';

/** One committed outbox row, as the store holds it. */
export interface LedgerRow {
  upstream: string;
  idempotencyKey: string;
  aggregate: string;
  seq: number;
  state: 'pending' | 'delivered' | 'dead-letter';
}

/** What the kiosk side committed: every outbox row, and the keys the reconciler requeued after a restore (audit log). */
export interface StoreLedger {
  rows: LedgerRow[];
  requeued: Set<string>;
}

/** What one upstream holds: its records in arrival order (one per idempotency key, by its dedupe). */
export type Arrivals = Pick<DeliveryRecord, 'arrival' | 'idempotencyKey' | 'stream' | 'seq'>;

export interface CheckResult {
  /** Every broken guarantee, one line each (empty when all hold). */
  problems: string[];
  deliveries: number;
  held: number;
  pending: number;
  deadLettered: number;
  /** Held deliveries left out of the order check because the reconciler requeued them: they arrive late by design. */
  requeuedExcluded: number;
}

/**
 * Reads the store's ledger straight from its SQLite file (read-only): the outbox, and the `delivery.requeued`
 * audit entries (subject = transaction id, detail.upstream) mapped to their idempotency keys.
 */
export function readStoreLedger(path: string): StoreLedger {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = (
      db.prepare('SELECT upstream, idempotency_key, aggregate, aggregate_seq, dead_letter, delivered_at FROM outbox ORDER BY id').all() as Array<{
        upstream: string;
        idempotency_key: string;
        aggregate: string;
        aggregate_seq: number;
        dead_letter: number;
        delivered_at: number | null;
      }>
    ).map(
      (r): LedgerRow => ({
        upstream: r.upstream,
        idempotencyKey: r.idempotency_key,
        aggregate: r.aggregate,
        seq: r.aggregate_seq,
        state: r.dead_letter === 1 ? 'dead-letter' : r.delivered_at === null ? 'pending' : 'delivered',
      }),
    );
    const requeued = db
      .prepare("SELECT o.idempotency_key AS key FROM audit_log a JOIN outbox o ON o.transaction_id = a.subject AND o.upstream = json_extract(a.detail, '$.upstream') WHERE a.action = 'delivery.requeued'")
      .all() as Array<{ key: string }>;
    return { rows, requeued: new Set(requeued.map((r) => r.key)) };
  } finally {
    db.close();
  }
}

/**
 * The campaign's guarantees, checked from both ends: every committed outbox row is delivered (nothing pending, no
 * dead letter) and held by its upstream exactly once; an upstream holds nothing the store did not commit; and on
 * each upstream the arrivals of each stream come in increasing sequence, except the requeued ones.
 */
export function checkDeliveries(ledger: StoreLedger, held: Readonly<Record<string, readonly Arrivals[]>>): CheckResult {
  const problems: string[] = [];
  const committed = new Map(ledger.rows.map((r) => [r.idempotencyKey, r]));
  let heldCount = 0;
  let requeuedExcluded = 0;
  for (const [upstream, records] of Object.entries(held)) {
    const seen = new Set<string>();
    const lastSeq = new Map<string, { seq: number; key: string }>();
    for (const rec of [...records].sort((a, b) => a.arrival - b.arrival)) {
      if (seen.has(rec.idempotencyKey)) {
        problems.push(`doubled: ${rec.idempotencyKey} held more than once by ${upstream}`);
        continue;
      }
      seen.add(rec.idempotencyKey);
      heldCount++;
      const row = committed.get(rec.idempotencyKey);
      if (!row || row.upstream !== upstream) {
        problems.push(`unexpected: ${upstream} holds ${rec.idempotencyKey}, which the store did not commit for it`);
        continue;
      }
      if (rec.stream !== row.aggregate || rec.seq !== row.seq) problems.push(`headers: ${upstream} holds ${rec.idempotencyKey} as ${rec.stream}#${rec.seq}, the store committed ${row.aggregate}#${row.seq}`);
      if (ledger.requeued.has(rec.idempotencyKey)) {
        requeuedExcluded++;
        continue;
      }
      const last = lastSeq.get(rec.stream);
      if (last && rec.seq <= last.seq) problems.push(`order: ${upstream} stream ${rec.stream} got seq ${rec.seq} (${rec.idempotencyKey}) after seq ${last.seq} (${last.key})`);
      lastSeq.set(rec.stream, { seq: rec.seq, key: rec.idempotencyKey });
    }
    for (const row of ledger.rows) if (row.upstream === upstream && !seen.has(row.idempotencyKey)) problems.push(`lost: ${row.idempotencyKey} (${row.state}) is not held by ${upstream}`);
  }
  for (const upstream of new Set(ledger.rows.map((r) => r.upstream))) if (!(upstream in held)) problems.push(`lost: no records at all from ${upstream}`);
  const pending = ledger.rows.filter((r) => r.state === 'pending').length;
  const deadLettered = ledger.rows.filter((r) => r.state === 'dead-letter').length;
  if (pending > 0) problems.push(`pending: ${pending} deliveries not delivered`);
  if (deadLettered > 0) problems.push(`dead letters: ${deadLettered}`);
  return { problems, deliveries: ledger.rows.length, held: heldCount, pending, deadLettered, requeuedExcluded };
}
