import { KioskError } from '@kiosk/common';
import { audit, type StoreContext } from './context.js';
import { writeTransaction, sql } from './database.js';
import { clearText, type JsonValue } from './field-guard.js';
import { payloadAad } from './transactions.js';

/**
 * The sync agent's side of the outbox. A claimed delivery is leased for a while, so a second agent (or the same one
 * after a crash) does not send it twice at once; the upstream dedupes on the idempotency key anyway. Within one
 * aggregate only the oldest pending delivery to each upstream is due, so every upstream sees each aggregate in sequence
 * order, and one upstream that is down does not hold a citizen's deliveries to the others.
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
  /**
   * Newest due first: the agent alternates with the default (oldest first), so a delivery recorded during a long
   * backlog drain goes out within a round or two instead of after the whole backlog. FIFO per aggregate still holds:
   * only each aggregate's oldest pending delivery is ever due.
   */
  newestFirst?: boolean;
}

/** Due = pending, its time come, not leased, and no older pending delivery of its aggregate to its upstream. */
const claimDueSql = (order: 'ASC' | 'DESC'): string => `SELECT o.id, o.transaction_id, o.upstream, o.idempotency_key, o.aggregate, o.aggregate_seq, o.attempts, o.payload
   FROM outbox o
   WHERE o.delivered_at IS NULL AND o.dead_letter = 0 AND o.next_attempt_at <= @now
     AND (o.claimed_until IS NULL OR o.claimed_until <= @now)
     AND (@upstream IS NULL OR o.upstream = @upstream)
     AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregate = o.aggregate AND e.upstream = o.upstream AND e.aggregate_seq < o.aggregate_seq AND e.delivered_at IS NULL AND e.dead_letter = 0)
   ORDER BY o.next_attempt_at ${order}, o.id ${order}
   LIMIT @limit`;

export const CLAIM_DUE_SQL = claimDueSql('ASC');
/** Both orders walk the partial index outbox_due (pending rows only), one forwards, one backwards. */
export const CLAIM_NEWEST_SQL = claimDueSql('DESC');

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
    const due = sql(ctx.db, options.newestFirst ? CLAIM_NEWEST_SQL : CLAIM_DUE_SQL).all({ now, upstream: options.upstream ?? null, limit: options.limit ?? 20 }) as DueRow[];
    const lease = sql(ctx.db, 'UPDATE outbox SET claimed_until = ? WHERE id = ?');
    for (const r of due) lease.run(now + (options.leaseMs ?? 60_000), r.id);
    return due;
  });
  return rows.map((r) => ({ ...deliveryFields(r), payload: ctx.keyring.open(r.payload, payloadAad(r.idempotency_key)) as Record<string, JsonValue> }));
}

/** The columns every view of a delivery shows, renamed for the API. */
function deliveryFields(r: Omit<DueRow, 'payload'>): Omit<DueDelivery, 'payload'> {
  return { id: r.id, transactionId: r.transaction_id, upstream: r.upstream, idempotencyKey: r.idempotency_key, aggregate: r.aggregate, aggregateSeq: r.aggregate_seq, attempts: r.attempts };
}

type Pending = { transaction_id: string; upstream: string; delivered_at: number | null; dead_letter: number; payload: Buffer | null };

/** Where one delivery stands before a mark: the row, or undefined when no delivery has that id. */
function deliveryRow(ctx: StoreContext, id: number): Pending | undefined {
  return sql(ctx.db, 'SELECT transaction_id, upstream, delivered_at, dead_letter, payload FROM outbox WHERE id = ?').get(id) as Pending | undefined;
}

function notPending(id: number, row: Pending | undefined): KioskError {
  if (!row) return new KioskError('STORE_NOT_FOUND', `outbox delivery ${id} does not exist`, { details: { id } });
  return new KioskError('STORE_NOT_FOUND', `outbox delivery ${id} is already ${row.delivered_at !== null ? 'delivered' : 'dead-lettered'}`, { details: { id } });
}

/** What a batch mark did: ids changed now, ids already in that final state (a resend), ids dead-lettered meanwhile. */
export interface BatchMarkResult {
  marked: number[];
  alreadyDone: number[];
  /** Dead-lettered (e.g. erased on a data-subject request) while in flight: left as they are. */
  deadLettered: number[];
}

function assertIds(ids: readonly number[]): void {
  for (const id of ids) if (!Number.isSafeInteger(id) || id < 1) throw new KioskError('STORE_FIELD_REJECTED', 'outbox delivery ids are positive integers');
  if (new Set(ids).size !== ids.length) throw new KioskError('STORE_FIELD_REJECTED', 'an outbox delivery id appears twice in one batch');
}

/**
 * Applies `mark` to each pending delivery of `ids` inside the caller's write transaction and sorts the rest: already
 * delivered (a resend after a crash between "sent" and "bookkeeping") or dead-lettered. An unknown id fails the whole
 * batch: it can only come from a bug, and nothing of the batch is then recorded.
 */
function markEach(ctx: StoreContext, ids: readonly number[], mark: (id: number, row: Pending) => void): BatchMarkResult {
  const result: BatchMarkResult = { marked: [], alreadyDone: [], deadLettered: [] };
  for (const id of ids) {
    const row = deliveryRow(ctx, id);
    if (!row) throw notPending(id, row);
    if (row.delivered_at !== null) result.alreadyDone.push(id);
    else if (row.dead_letter === 1) result.deadLettered.push(id);
    else {
      mark(id, row);
      result.marked.push(id);
    }
  }
  return result;
}

/** An upstream's receipt: a short reference (tracking code, resource id), never free text that could carry personal data. */
const RECEIPT = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

function assertReceipt(receipt: string | undefined): void {
  if (receipt !== undefined && (!RECEIPT.test(receipt) || clearText(receipt) !== receipt)) {
    throw new KioskError('STORE_FIELD_REJECTED', 'a delivery receipt is a short reference (letters, digits, . _ : / -, at most 128) and never an ID number');
  }
}

/**
 * Delivered: the payload stays (encrypted) until the retention purge, so a delivery an upstream later loses (restored
 * from a backup) can be sent again; `purgeExpired` and `eraseCitizen` remove it.
 */
function deliver(ctx: StoreContext, id: number, row: Pending, now: number, receipt?: string): void {
  sql(ctx.db, 'UPDATE outbox SET delivered_at = ?, receipt = ?, claimed_until = NULL, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(now, receipt ?? null, id);
  audit(ctx, { actor: 'sync-agent', action: 'delivery.delivered', subject: row.transaction_id, detail: { upstream: row.upstream } }, now);
}

/** Changes one delivery in its own write transaction, unless `refusal` objects to the state it is in. */
function changeOne(ctx: StoreContext, what: string, id: number, refusal: (row: Pending | undefined) => KioskError | undefined, change: (row: Pending, now: number) => void): void {
  writeTransaction(ctx.db, what, () => {
    const row = deliveryRow(ctx, id);
    const refused = refusal(row);
    if (refused || !row) throw refused ?? notPending(id, row);
    change(row, ctx.now());
  });
}

/** The single-row marks act on pending deliveries only. */
const unlessPending = (id: number) => (row: Pending | undefined): KioskError | undefined => (!row || row.delivered_at !== null || row.dead_letter === 1 ? notPending(id, row) : undefined);

/** The upstream accepted the delivery: it is done, and its payload (personal data) is erased right away. */
export function markDelivered(ctx: StoreContext, id: number, receipt?: string): void {
  assertReceipt(receipt);
  changeOne(ctx, 'cannot mark the delivery delivered', id, unlessPending(id), (row, now) => deliver(ctx, id, row, now, receipt));
}

/**
 * A whole acknowledged batch in one write transaction (one fsync instead of one per row). Idempotent: marking again
 * what is already delivered reports it in `alreadyDone` and changes nothing, so a relay that crashed after sending
 * and resent the batch does not fail or count twice. One audit entry per delivery, as `markDelivered` writes.
 */
export function markDeliveredBatch(ctx: StoreContext, ids: readonly number[], receipts: ReadonlyMap<number, string> = new Map()): BatchMarkResult {
  assertIds(ids);
  for (const receipt of receipts.values()) assertReceipt(receipt);
  return writeTransaction(ctx.db, 'cannot mark the batch delivered', () => {
    const now = ctx.now();
    return markEach(ctx, ids, (id, row) => deliver(ctx, id, row, now, receipts.get(id)));
  });
}

function retry(ctx: StoreContext, id: number, error: string, nextAttemptAt: number): void {
  sql(ctx.db, 'UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_until = NULL WHERE id = ?').run(clearText(error), Math.trunc(nextAttemptAt), id);
}

/** A failed attempt that may succeed later: try again at `nextAttemptAt` (ms). The error text is kept, ID-scrubbed. */
export function markRetry(ctx: StoreContext, id: number, error: string, nextAttemptAt: number): void {
  changeOne(ctx, 'cannot schedule the retry', id, unlessPending(id), () => retry(ctx, id, error, nextAttemptAt));
}

/**
 * A batch that failed as a whole (503, timeout, reset): every pending one is retried at `nextAttemptAt`, in one write
 * transaction. One already delivered is left delivered (its acknowledgement won), never put back in the queue.
 */
export function markRetryBatch(ctx: StoreContext, ids: readonly number[], error: string, nextAttemptAt: number): BatchMarkResult {
  assertIds(ids);
  return writeTransaction(ctx.db, 'cannot schedule the retries', () => markEach(ctx, ids, (id) => retry(ctx, id, error, nextAttemptAt)));
}

/**
 * Ends the claims on deliveries that were not delivered after all because their upstream refused the agent's
 * credentials: no attempt is spent, and they are due again as soon as the upstream is resumed (a new certificate),
 * not only when the lease runs out. Delivered or dead-lettered ones are left as they are.
 */
export function releaseClaims(ctx: StoreContext, ids: readonly number[]): void {
  assertIds(ids);
  writeTransaction(ctx.db, 'cannot release the claims', () => {
    const release = sql(ctx.db, 'UPDATE outbox SET claimed_until = NULL WHERE id = ? AND delivered_at IS NULL AND dead_letter = 0');
    for (const id of ids) release.run(id);
  });
}

/**
 * The upstream answers again after network failures: its deliveries waiting out a backoff for "no answer" (the delivery
 * policy's reason for a connection that failed) are due now, not at their backoff time (PowerSync native#15: a
 * failed round never retried until the next write). Ones waiting on the upstream's own Retry-After keep their time.
 */
export function rescheduleUnanswered(ctx: StoreContext, upstream: string): number {
  return writeTransaction(ctx.db, 'cannot reschedule the retries', () => {
    const now = ctx.now();
    return sql(
      ctx.db,
      "UPDATE outbox SET next_attempt_at = @now WHERE upstream = @upstream AND delivered_at IS NULL AND dead_letter = 0 AND next_attempt_at > @now AND last_error LIKE 'no answer%'",
    ).run({ now, upstream }).changes;
  });
}

/** The upstream refused for good (or attempts ran out): set aside for a person to look at; later ones proceed. */
export function markDeadLetter(ctx: StoreContext, id: number, error: string): void {
  changeOne(ctx, 'cannot dead-letter the delivery', id, unlessPending(id), (row, now) => {
    sql(ctx.db, 'UPDATE outbox SET attempts = attempts + 1, last_error = ?, dead_letter = 1, claimed_until = NULL WHERE id = ?').run(clearText(error), id);
    audit(ctx, { actor: 'sync-agent', action: 'delivery.dead-lettered', subject: row.transaction_id, detail: { upstream: row.upstream } }, now);
  });
}

/** One upstream's share of the outbox, for `kiosk-sync status`. */
export interface UpstreamOutboxStatus {
  /** Not yet delivered nor dead-lettered (in flight included). */
  pending: number;
  /** Pending and claimed by an agent whose lease has not expired. */
  inFlight: number;
  delivered: number;
  deadLettered: number;
  /** Creation time (ms) of the oldest pending delivery's transaction, or null when nothing is pending. */
  oldestPendingAt: number | null;
  /** `now - oldestPendingAt` by the store's clock, or null. */
  oldestPendingAgeMs: number | null;
}

/**
 * When the next delivery to one of `upstreams` comes due (its retry time, or its lease running out), or null when
 * none is pending: how long the agent may sleep. A delivery behind an older one of its aggregate waits for that one,
 * whose time is in the minimum too.
 */
export function nextDueAt(ctx: StoreContext, upstreams: readonly string[]): number | null {
  const row = sql(
    ctx.db,
    `SELECT min(max(o.next_attempt_at, coalesce(o.claimed_until, 0))) AS at FROM outbox o
     WHERE o.delivered_at IS NULL AND o.dead_letter = 0 AND o.upstream IN (SELECT value FROM json_each(@upstreams))
       AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregate = o.aggregate AND e.upstream = o.upstream AND e.aggregate_seq < o.aggregate_seq AND e.delivered_at IS NULL AND e.dead_letter = 0)`,
  ).get({ upstreams: JSON.stringify(upstreams) }) as { at: number | null };
  return row.at;
}

export function outboxStatus(ctx: StoreContext): Record<string, UpstreamOutboxStatus> {
  const now = ctx.now();
  const rows = sql(
    ctx.db,
    `SELECT o.upstream,
            sum(o.delivered_at IS NULL AND o.dead_letter = 0) AS pending,
            sum(o.delivered_at IS NULL AND o.dead_letter = 0 AND coalesce(o.claimed_until, 0) > @now) AS in_flight,
            sum(o.delivered_at IS NOT NULL) AS delivered,
            sum(o.dead_letter = 1) AS dead,
            (SELECT t.created_at FROM outbox p JOIN transactions t ON t.id = p.transaction_id
              WHERE p.upstream = o.upstream AND p.delivered_at IS NULL AND p.dead_letter = 0 ORDER BY p.id LIMIT 1) AS oldest
     FROM outbox o GROUP BY o.upstream ORDER BY o.upstream`,
  ).all({ now }) as Array<{ upstream: string; pending: number; in_flight: number; delivered: number; dead: number; oldest: number | null }>;
  return Object.fromEntries(
    rows.map((r) => [r.upstream, { pending: r.pending, inFlight: r.in_flight, delivered: r.delivered, deadLettered: r.dead, oldestPendingAt: r.oldest, oldestPendingAgeMs: r.oldest === null ? null : now - r.oldest }]),
  );
}

/** A dead letter as an operator sees it: where it was going and why it stopped, never its payload. */
export interface DeadLetter extends Omit<DueDelivery, 'payload'> {
  lastError: string | null;
  /** False when the payload was erased (data-subject request): such a dead letter cannot be retried. */
  retryable: boolean;
}

export function deadLetters(ctx: StoreContext, options: { limit?: number; upstream?: string } = {}): DeadLetter[] {
  const rows = sql(
    ctx.db,
    `SELECT id, transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, attempts, last_error, payload IS NOT NULL AS retryable
     FROM outbox WHERE dead_letter = 1 AND (@upstream IS NULL OR upstream = @upstream) ORDER BY id LIMIT @limit`,
  ).all({ upstream: options.upstream ?? null, limit: options.limit ?? 100 }) as Array<Omit<DueRow, 'payload'> & { last_error: string | null; retryable: number }>;
  return rows.map((r) => ({ ...deliveryFields(r), lastError: r.last_error, retryable: r.retryable === 1 }));
}

/** Puts one dead letter back in the queue, due now with a fresh attempt budget (its last error kept), audited. */
function revive(ctx: StoreContext, id: number, row: Pending, now: number): void {
  sql(ctx.db, 'UPDATE outbox SET dead_letter = 0, attempts = 0, next_attempt_at = ?, claimed_until = NULL WHERE id = ?').run(now, id);
  audit(ctx, { actor: 'operator', action: 'delivery.retried', subject: row.transaction_id, detail: { upstream: row.upstream } }, now);
}

/**
 * An operator sends a dead letter again (`kiosk-sync retry ID`). Refused (STORE_NOT_FOUND) for a delivery that is not
 * dead-lettered or whose payload was erased. It is pending again under its old sequence number, so pending later
 * deliveries of its aggregate wait for it; ones already delivered stay delivered (the upstream sees it late).
 */
export function retryDeadLetter(ctx: StoreContext, id: number): void {
  const refusal = (row: Pending | undefined): KioskError | undefined => {
    if (!row || row.dead_letter !== 1) return new KioskError('STORE_NOT_FOUND', `outbox delivery ${id} is not a dead letter`, { details: { id } });
    if (row.payload === null) return new KioskError('STORE_NOT_FOUND', `outbox delivery ${id} was erased (data-subject request) and cannot be sent again`, { details: { id } });
    return undefined;
  };
  changeOne(ctx, 'cannot retry the dead letter', id, refusal, (row, now) => revive(ctx, id, row, now));
}

/** Every retryable dead letter (optionally of one upstream) back in the queue, in one transaction; returns how many. */
export function retryAllDeadLetters(ctx: StoreContext, upstream?: string): number {
  return writeTransaction(ctx.db, 'cannot retry the dead letters', () => {
    const now = ctx.now();
    const ids = sql(ctx.db, 'SELECT id FROM outbox WHERE dead_letter = 1 AND payload IS NOT NULL AND (@upstream IS NULL OR upstream = @upstream) ORDER BY id').pluck().all({ upstream: upstream ?? null }) as number[];
    for (const id of ids) revive(ctx, id, deliveryRow(ctx, id)!, now);
    return ids.length;
  });
}

/** Where one delivery of a transaction stands, as the kiosk shows it (no payload). */
export interface DeliveryState {
  id: number;
  upstream: string;
  state: 'pending' | 'delivered' | 'dead-letter';
  /** The upstream's receipt (a dossier's tracking code), once delivered. */
  receipt: string | null;
  attempts: number;
  deliveredAt: number | null;
}

export function deliveriesOf(ctx: StoreContext, transactionId: string): DeliveryState[] {
  const rows = sql(ctx.db, 'SELECT id, upstream, delivered_at, dead_letter, receipt, attempts FROM outbox WHERE transaction_id = ? ORDER BY id').all(transactionId) as Array<{
    id: number;
    upstream: string;
    delivered_at: number | null;
    dead_letter: number;
    receipt: string | null;
    attempts: number;
  }>;
  return rows.map((r) => ({
    id: r.id,
    upstream: r.upstream,
    state: r.delivered_at !== null ? 'delivered' : r.dead_letter === 1 ? 'dead-letter' : 'pending',
    receipt: r.receipt,
    attempts: r.attempts,
    deliveredAt: r.delivered_at,
  }));
}

/** A delivered row as reconciliation walks them: its id and the key the upstream knows it by. */
export interface DeliveredKey {
  id: number;
  idempotencyKey: string;
}

/** One upstream's delivered rows after `afterId`, in id order: the agent asks the upstream which of them it still holds. */
export function deliveredKeys(ctx: StoreContext, options: { upstream: string; afterId?: number; limit?: number }): DeliveredKey[] {
  const rows = sql(ctx.db, 'SELECT id, idempotency_key FROM outbox WHERE upstream = @upstream AND delivered_at IS NOT NULL AND id > @afterId ORDER BY id LIMIT @limit').all({
    upstream: options.upstream,
    afterId: options.afterId ?? 0,
    limit: options.limit ?? 500,
  }) as Array<{ id: number; idempotency_key: string }>;
  return rows.map((r) => ({ id: r.id, idempotencyKey: r.idempotency_key }));
}

export interface RequeueResult {
  /** Back in the queue, due now, with the same idempotency key and sequence number. */
  requeued: number[];
  /** Delivered, but their payload was already purged or erased: they cannot be sent again (the loss is reported). */
  erased: number[];
  /** Not delivered (pending or dead-lettered): left as they are. */
  notDelivered: number[];
}

/**
 * An upstream lost deliveries it had acknowledged (restored from a backup, cht-core#8093): they go back in the queue
 * in one transaction, audited. Their later deliveries already arrived, so the upstream sees these late: order is
 * restored only as far as the upstream's own dedupe and sequence numbers allow.
 */
export function requeueDelivered(ctx: StoreContext, ids: readonly number[], reason: string): RequeueResult {
  assertIds(ids);
  return writeTransaction(ctx.db, 'cannot requeue the deliveries', () => {
    const now = ctx.now();
    const result: RequeueResult = { requeued: [], erased: [], notDelivered: [] };
    const requeue = sql(ctx.db, 'UPDATE outbox SET delivered_at = NULL, receipt = NULL, attempts = 0, next_attempt_at = ?, claimed_until = NULL, last_error = ? WHERE id = ?');
    for (const id of ids) {
      const row = deliveryRow(ctx, id);
      if (!row) throw notPending(id, row);
      if (row.delivered_at === null) result.notDelivered.push(id);
      else if (row.payload === null) result.erased.push(id);
      else {
        requeue.run(now, clearText(reason), id);
        result.requeued.push(id);
        audit(ctx, { actor: 'sync-agent', action: 'delivery.requeued', subject: row.transaction_id, detail: { upstream: row.upstream } }, now);
      }
    }
    return result;
  });
}
