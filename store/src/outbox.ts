import { KioskError } from '@kiosk/common';
import { audit, type StoreContext } from './context.js';
import { writeTransaction, sql } from './database.js';
import { clearText, type JsonValue } from './field-guard.js';
import { payloadAad } from './transactions.js';

/**
 * The sync agent's side of the outbox. A claimed delivery is leased for a while, so a second agent (or the same one
 * after a crash) does not send it twice at once; the upstream dedupes on the idempotency key anyway. Within one
 * aggregate only the oldest pending delivery is due, so upstreams see each aggregate in sequence order.
 */
export interface DueDelivery {
  id: number;
  transactionId: string;
  upstream: string;
  idempotencyKey: string;
  aggregate: string;
  aggregateSeq: number;
  attempts: number;
  payload: Record<string, JsonValue>;
}

export interface ClaimOptions {
  limit?: number;
  /** How long the claim holds before the delivery is due again (agent crashed mid-send). Default 60 s. */
  leaseMs?: number;
  /** Only this upstream's deliveries. */
  upstream?: string;
}

interface DueRow {
  id: number;
  transaction_id: string;
  upstream: string;
  idempotency_key: string;
  aggregate: string;
  aggregate_seq: number;
  attempts: number;
  payload: Buffer;
}

export function claimDue(ctx: StoreContext, options: ClaimOptions = {}): DueDelivery[] {
  const rows = writeTransaction(ctx.db, 'cannot claim deliveries', () => {
    const now = ctx.now();
    const due = sql(
      ctx.db,
        `SELECT o.id, o.transaction_id, o.upstream, o.idempotency_key, o.aggregate, o.aggregate_seq, o.attempts, o.payload
         FROM outbox o
         WHERE o.delivered_at IS NULL AND o.dead_letter = 0 AND o.next_attempt_at <= @now
           AND (o.claimed_until IS NULL OR o.claimed_until <= @now)
           AND (@upstream IS NULL OR o.upstream = @upstream)
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregate = o.aggregate AND e.aggregate_seq < o.aggregate_seq AND e.delivered_at IS NULL AND e.dead_letter = 0)
         ORDER BY o.next_attempt_at, o.id
         LIMIT @limit`,
      )
      .all({ now, upstream: options.upstream ?? null, limit: options.limit ?? 20 }) as DueRow[];
    const lease = sql(ctx.db, 'UPDATE outbox SET claimed_until = ? WHERE id = ?');
    for (const r of due) lease.run(now + (options.leaseMs ?? 60_000), r.id);
    return due;
  });
  return rows.map((r) => ({
    id: r.id,
    transactionId: r.transaction_id,
    upstream: r.upstream,
    idempotencyKey: r.idempotency_key,
    aggregate: r.aggregate,
    aggregateSeq: r.aggregate_seq,
    attempts: r.attempts,
    payload: ctx.keyring.open(r.payload, payloadAad(r.idempotency_key)) as Record<string, JsonValue>,
  }));
}

function pendingOrThrow(ctx: StoreContext, id: number, changes: number): void {
  if (changes === 1) return;
  const row = sql(ctx.db, 'SELECT delivered_at, dead_letter FROM outbox WHERE id = ?').get(id) as { delivered_at: number | null; dead_letter: number } | undefined;
  if (!row) throw new KioskError('STORE_NOT_FOUND', `outbox delivery ${id} does not exist`);
  throw new KioskError('STORE_NOT_FOUND', `outbox delivery ${id} is already ${row.delivered_at !== null ? 'delivered' : 'dead-lettered'}`, { details: { id } });
}

/** The upstream accepted the delivery: it is done, and its payload (personal data) is erased right away. */
export function markDelivered(ctx: StoreContext, id: number): void {
  writeTransaction(ctx.db, 'cannot mark the delivery delivered', () => {
    const now = ctx.now();
    const { changes } = sql(ctx.db, 'UPDATE outbox SET delivered_at = ?, payload = NULL, key_id = NULL, claimed_until = NULL, attempts = attempts + 1, last_error = NULL WHERE id = ? AND delivered_at IS NULL AND dead_letter = 0').run(now, id);
    pendingOrThrow(ctx, id, changes);
    const row = sql(ctx.db, 'SELECT transaction_id, upstream FROM outbox WHERE id = ?').get(id) as { transaction_id: string; upstream: string };
    audit(ctx, { actor: 'sync-agent', action: 'delivery.delivered', subject: row.transaction_id, detail: { upstream: row.upstream } }, now);
  });
}

/** A failed attempt that may succeed later: try again at `nextAttemptAt` (ms). The error text is kept, ID-scrubbed. */
export function markRetry(ctx: StoreContext, id: number, error: string, nextAttemptAt: number): void {
  writeTransaction(ctx.db, 'cannot schedule the retry', () => {
    const { changes } = sql(ctx.db, 'UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_until = NULL WHERE id = ? AND delivered_at IS NULL AND dead_letter = 0').run(clearText(error), Math.trunc(nextAttemptAt), id);
    pendingOrThrow(ctx, id, changes);
  });
}

/** The upstream refused for good (or attempts ran out): set aside for a person to look at; later ones proceed. */
export function markDeadLetter(ctx: StoreContext, id: number, error: string): void {
  writeTransaction(ctx.db, 'cannot dead-letter the delivery', () => {
    const now = ctx.now();
    const { changes } = sql(ctx.db, 'UPDATE outbox SET attempts = attempts + 1, last_error = ?, dead_letter = 1, claimed_until = NULL WHERE id = ? AND delivered_at IS NULL AND dead_letter = 0').run(clearText(error), id);
    pendingOrThrow(ctx, id, changes);
    const row = sql(ctx.db, 'SELECT transaction_id, upstream FROM outbox WHERE id = ?').get(id) as { transaction_id: string; upstream: string };
    audit(ctx, { actor: 'sync-agent', action: 'delivery.dead-lettered', subject: row.transaction_id, detail: { upstream: row.upstream } }, now);
  });
}
