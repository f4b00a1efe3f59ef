import { EventEmitter } from 'node:events';
import { isKioskError, type Logger } from '@kiosk/common';
import type { BatchMarkResult, ClaimOptions, DueDelivery } from '@kiosk/store';
import { classifyAnswer, DEFAULT_BACKOFF, nextAttemptDelayMs, type BackoffPolicy, type DeliveryOutcome, type UpstreamAnswer } from '../delivery-policy.js';

/** What the relay needs of the local store: claims and the marks (TransactionStore has them). */
export interface OutboxPort {
  claimDue(options?: ClaimOptions): DueDelivery[];
  /** One SQLite transaction for the whole delivered part of a batch; marking again after a crash changes nothing. */
  markDeliveredBatch(ids: readonly number[], receipts?: ReadonlyMap<number, string>): BatchMarkResult;
  markRetry(id: number, error: string, nextAttemptAt: number): void;
  markDeadLetter(id: number, error: string): void;
  /** Claims ended without an attempt (the upstream refused our credentials): due again when it is resumed. */
  releaseClaims(ids: readonly number[]): void;
  /** The upstream answers again: its retries for "no answer" are due now (a reconnect flushes at once). */
  rescheduleUnanswered?(upstream: string): number;
}

/**
 * One upstream system as the relay sees it: sends a batch and answers per delivery, in the batch's order. An answer
 * with a 2xx status means the upstream acknowledged it durably; a network failure is an answer without a status.
 */
export interface UpstreamTransport {
  readonly name: string;
  send(batch: readonly DueDelivery[]): Promise<UpstreamAnswer[]>;
}

export type UpstreamHealth = { state: 'ok' } | { state: 'stopped'; reason: string; since: number };

export interface RelayOptions {
  store: OutboxPort;
  upstreams: readonly UpstreamTransport[];
  log: Logger;
  /** Deliveries claimed and sent per upstream per round. */
  batchSize?: number;
  /** How long a claim holds: a crash mid-send makes the deliveries due again after it. */
  leaseMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
}

export interface RoundCounts {
  delivered: number;
  retried: number;
  deadLettered: number;
  /** Sent and acknowledged, but the local mark failed: the lease runs out and the upstream's dedupe absorbs the resend. */
  bookkeepingFailed: number;
}

export interface RelayEvents {
  /** An upstream refused our credentials: it is stopped until `resume` (a new client certificate). */
  alert: [{ upstream: string; reason: string; code?: string }];
  round: [{ upstream: string; counts: RoundCounts }];
}

const zero = (): RoundCounts => ({ delivered: 0, retried: 0, deadLettered: 0, bookkeepingFailed: 0 });

function add(into: RoundCounts, from: RoundCounts): RoundCounts {
  into.delivered += from.delivered;
  into.retried += from.retried;
  into.deadLettered += from.deadLettered;
  into.bookkeepingFailed += from.bookkeepingFailed;
  return into;
}

/**
 * The outbox relay: claims due deliveries per upstream, sends them in batches, and marks each by the shared answer
 * policy (delivery-policy.ts). The store hands out only the oldest pending delivery of each aggregate, so a batch
 * holds one per aggregate (parallel across aggregates, FIFO within one). Sending and bookkeeping fail separately: a
 * delivery is marked delivered only after the upstream's acknowledgement, and a failed mark leaves it claimed until
 * the lease runs out, so it is sent again rather than lost.
 */
export class Relay extends EventEmitter<RelayEvents> {
  private readonly health = new Map<string, UpstreamHealth>();
  /** Upstreams that may have deliveries waiting out a network failure's backoff (true at start: a previous run may have left some). */
  private readonly unanswered = new Set<string>();
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly now: () => number;

  constructor(private readonly options: RelayOptions) {
    super();
    this.batchSize = options.batchSize ?? 50;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.now = options.now ?? Date.now;
    for (const upstream of options.upstreams) {
      this.health.set(upstream.name, { state: 'ok' });
      this.unanswered.add(upstream.name);
    }
  }

  upstreamHealth(): Record<string, UpstreamHealth> {
    return Object.fromEntries(this.health);
  }

  /** After a new client certificate is installed: the stopped upstream is tried again. */
  resume(upstream: string): void {
    if (this.health.has(upstream)) this.health.set(upstream, { state: 'ok' });
  }

  /** One batch per healthy upstream, all upstreams at once; `newestFirst` claims the most recent due deliveries (fairness). */
  async round(order: Pick<ClaimOptions, 'newestFirst'> = {}): Promise<RoundCounts> {
    const counts = await Promise.all(this.options.upstreams.filter((u) => this.health.get(u.name)?.state === 'ok').map((u) => this.roundFor(u, order.newestFirst ?? false)));
    return counts.reduce(add, zero());
  }

  /**
   * Batches until no healthy upstream has a due delivery (retries scheduled for later stay pending). Each upstream
   * goes at its own pace: a slow one does not hold the others' next batch back (no barrier between rounds).
   */
  async drain(onProgress?: (total: RoundCounts) => void): Promise<RoundCounts> {
    const total = zero();
    let failed = false;
    const drainOne = async (upstream: UpstreamTransport): Promise<void> => {
      // Oldest first throughout: a drain empties a backlog (the agent's loop alternates with newest-first rounds).
      while (!failed && this.health.get(upstream.name)?.state === 'ok') {
        const counts = await this.roundFor(upstream, false);
        add(total, counts);
        onProgress?.(total);
        if (counts.delivered + counts.retried + counts.deadLettered + counts.bookkeepingFailed === 0) return;
      }
    };
    // The first failure ends the drain; the other upstreams stop after their batch in flight.
    const loops = this.options.upstreams.map((u) => drainOne(u).catch((err: unknown) => {
      failed = true;
      throw err;
    }));
    const settled = await Promise.allSettled(loops);
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    return total;
  }

  private async roundFor(upstream: UpstreamTransport, newestFirst: boolean): Promise<RoundCounts> {
    const batch = this.options.store.claimDue({ upstream: upstream.name, limit: this.batchSize, leaseMs: this.leaseMs, newestFirst });
    const counts = zero();
    if (batch.length === 0) return counts;
    let answers: UpstreamAnswer[];
    try {
      answers = await upstream.send(batch);
    } catch (err) {
      // A transport that throws instead of answering is a bug there; the claims run out and the batch goes again.
      // Its message may quote a payload: the log gets the error's type and code only.
      this.options.log.error({ upstream: upstream.name, error: err instanceof Error ? err.name : typeof err, code: isKioskError(err) ? err.code : undefined }, 'upstream transport failed');
      throw err;
    }
    if (answers.length !== batch.length) throw new RangeError(`${upstream.name} answered ${answers.length} deliveries of ${batch.length}`);
    const delivered: number[] = [];
    const receipts = new Map<number, string>();
    const refused: number[] = [];
    batch.forEach((delivery, i) => {
      const answer = answers[i]!;
      const outcome = classifyAnswer(answer, this.now());
      if (outcome.kind === 'reauthenticate') refused.push(delivery.id);
      if (answer.status === undefined && outcome.kind === 'retry') this.unanswered.add(upstream.name);
      if (outcome.kind !== 'delivered') return this.settle(upstream.name, delivery, outcome, counts);
      delivered.push(delivery.id);
      if (answer.receipt !== undefined) receipts.set(delivery.id, answer.receipt);
    });
    this.bookDelivered(upstream.name, delivered, receipts, counts);
    this.releaseRefused(upstream.name, refused, counts);
    if (delivered.length > 0) this.reconnected(upstream.name);
    this.emit('round', { upstream: upstream.name, counts });
    return counts;
  }

  /** An upstream that failed to answer answers again: what waits out that failure's backoff goes now. */
  private reconnected(upstream: string): void {
    if (!this.unanswered.delete(upstream)) return;
    try {
      const rescheduled = this.options.store.rescheduleUnanswered?.(upstream) ?? 0;
      if (rescheduled > 0) this.options.log.info({ upstream, rescheduled }, 'upstream answers again: deliveries that had no answer are due now');
    } catch (err) {
      if (!isKioskError(err)) throw err;
      // They keep their backoff time; the next reconnect tries again.
      this.unanswered.add(upstream);
      this.options.log.warn({ upstream, code: err.code }, 'could not reschedule the deliveries that had no answer');
    }
  }

  /** The acknowledged part of a batch, marked in one store transaction (the relay's bookkeeping is batched). */
  private bookDelivered(upstream: string, ids: number[], receipts: ReadonlyMap<number, string>, counts: RoundCounts): void {
    if (ids.length === 0) return;
    try {
      const result = this.markWithReceipts(upstream, ids, receipts);
      counts.delivered += result.marked.length + result.alreadyDone.length;
    } catch (err) {
      if (!isKioskError(err)) throw err;
      counts.bookkeepingFailed += ids.length;
      this.options.log.warn({ upstream, code: err.code, deliveries: ids.length }, 'deliveries acknowledged, local bookkeeping failed: they go again after their lease');
    }
  }

  /** Deliveries refused for our credentials go back unclaimed, so a resume sends them at once. */
  private releaseRefused(upstream: string, ids: number[], counts: RoundCounts): void {
    if (ids.length === 0) return;
    try {
      this.options.store.releaseClaims(ids);
    } catch (err) {
      if (!isKioskError(err)) throw err;
      counts.bookkeepingFailed += ids.length;
      this.options.log.warn({ upstream, code: err.code, deliveries: ids.length }, 'claims not released: the deliveries wait for their lease');
    }
  }

  /** A receipt the store refuses (not a short reference) must not hold back the acknowledgement: marked without receipts. */
  private markWithReceipts(upstream: string, ids: number[], receipts: ReadonlyMap<number, string>): BatchMarkResult {
    try {
      return this.options.store.markDeliveredBatch(ids, receipts);
    } catch (err) {
      if (!isKioskError(err) || err.code !== 'STORE_FIELD_REJECTED' || receipts.size === 0) throw err;
      this.options.log.warn({ upstream, deliveries: ids.length }, 'upstream receipts refused by the store (not short references): marked delivered without them');
      return this.options.store.markDeliveredBatch(ids);
    }
  }

  /** A delivery that was not acknowledged: retry later, dead letter, or stop the upstream. */
  private settle(upstream: string, delivery: DueDelivery, outcome: DeliveryOutcome, counts: RoundCounts): void {
    const { store, log } = this.options;
    try {
      switch (outcome.kind) {
        case 'delivered':
          return; // batched in bookDelivered
        case 'retry':
          store.markRetry(delivery.id, outcome.reason, this.now() + nextAttemptDelayMs(delivery.attempts, outcome, this.backoff, this.options.random));
          counts.retried += 1;
          return;
        case 'rejected':
          store.markDeadLetter(delivery.id, outcome.reason);
          counts.deadLettered += 1;
          return;
        case 'reauthenticate':
          // No attempt is spent: the claim is released (releaseRefused), and the delivery waits for the new certificate.
          if (this.health.get(upstream)?.state === 'ok') {
            this.health.set(upstream, { state: 'stopped', reason: outcome.reason, since: this.now() });
            // The log gets the status or TLS code only: the upstream's text after it may quote personal data (the alert keeps it).
            log.error({ upstream, status: outcome.reason.split(':')[0], code: outcome.code }, 'upstream refused our credentials or is not the server we pin: stopped until a new certificate');
            this.emit('alert', { upstream, reason: outcome.reason, ...(outcome.code === undefined ? {} : { code: outcome.code }) });
          }
          return;
      }
    } catch (err) {
      if (!isKioskError(err)) throw err;
      counts.bookkeepingFailed += 1;
      log.warn({ upstream, code: err.code, outcome: outcome.kind }, 'delivery answered, local bookkeeping failed: it goes again after its lease');
    }
  }
}
