import { EventEmitter } from 'node:events';
import type { Logger } from '@kiosk/common';
import type { DeliveredKey, RequeueResult, UpstreamOutboxStatus } from '@kiosk/store';

/** What reconciliation needs of the store (TransactionStore has it). */
export interface ReconcileStorePort {
  outboxStatus(): Record<string, Pick<UpstreamOutboxStatus, 'delivered'>>;
  deliveredKeys(options: { upstream: string; afterId?: number; limit?: number }): DeliveredKey[];
  requeueDelivered(ids: readonly number[], reason: string): RequeueResult;
}

/** What reconciliation needs of an upstream (HttpsUpstreamTransport has it). */
export interface ReconcileTransport {
  readonly name: string;
  /** The idempotency keys among these the upstream does not hold. */
  checkDeliveries(keys: readonly string[]): Promise<string[]>;
  /** How many of this device's deliveries the upstream said it holds, as of its last acknowledgements. */
  reportedReceived(): number | undefined;
}

export interface ReconcilerOptions {
  store: ReconcileStorePort;
  transports: readonly ReconcileTransport[];
  log: Logger;
}

export interface ReconcileResult {
  /** Delivered keys the upstream was asked about. */
  checked: number;
  /** Outbox ids the upstream had lost, back in the queue with their idempotency key. */
  requeued: number[];
  /** Outbox ids the upstream had lost whose payload is already purged: lost for good, reported. */
  erased: number[];
}

interface ReconcilerEvents {
  /** An upstream lost deliveries that cannot be sent again: an operator must act. */
  lost: [{ upstream: string; ids: number[] }];
}

/** One page of keys per check request: the endpoint's limit. */
const PAGE = 500;
const REQUEUE_REASON = 'the upstream no longer holds this acknowledged delivery (restored from a backup?): sent again';

/**
 * Finds deliveries an upstream acknowledged and then lost (restored from a backup: cht-core#8093) and sends them
 * again. After each round it compares the count the upstream reports holding with the store's delivered count,
 * which costs nothing; when the upstream holds fewer, it walks the delivered keys and asks the upstream which it
 * does not know. Those go back in the queue with the same idempotency key, so nothing is doubled if the upstream
 * had them after all.
 */
export class Reconciler extends EventEmitter<ReconcilerEvents> {
  private readonly transports: Map<string, ReconcileTransport>;
  private readonly running = new Map<string, Promise<ReconcileResult>>();
  /** The report a reconciliation already answered: the same stale count does not start another walk. */
  private readonly answered = new Map<string, number>();
  /** Deliveries the last walk found lost for good (payload purged): still counted delivered, never held again. */
  private readonly lostForGood = new Map<string, number>();

  constructor(private readonly options: ReconcilerOptions) {
    super();
    this.transports = new Map(options.transports.map((t) => [t.name, t]));
  }

  /** After a relay round: reconciles when the upstream reports fewer deliveries than the store has delivered. */
  async afterRound(upstream: string): Promise<ReconcileResult | undefined> {
    const reported = this.transport(upstream).reportedReceived();
    if (reported === undefined || this.answered.get(upstream) === reported) return undefined;
    const delivered = this.options.store.outboxStatus()[upstream]?.delivered ?? 0;
    if (reported + (this.lostForGood.get(upstream) ?? 0) >= delivered) return undefined;
    this.options.log.warn({ upstream, reported, delivered }, 'the upstream holds fewer deliveries than it acknowledged: reconciling');
    this.answered.set(upstream, reported);
    return this.reconcile(upstream);
  }

  /** Walks every delivered key of the upstream; one walk per upstream at a time. */
  reconcile(upstream: string): Promise<ReconcileResult> {
    const running = this.running.get(upstream);
    if (running) return running;
    const walk = this.walk(this.transport(upstream)).finally(() => this.running.delete(upstream));
    this.running.set(upstream, walk);
    return walk;
  }

  private async walk(transport: ReconcileTransport): Promise<ReconcileResult> {
    const { store, log } = this.options;
    const result: ReconcileResult = { checked: 0, requeued: [], erased: [] };
    for (let afterId = 0; ; ) {
      const page = store.deliveredKeys({ upstream: transport.name, afterId, limit: PAGE });
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;
      result.checked += page.length;
      const unknown = new Set(await transport.checkDeliveries(page.map((k) => k.idempotencyKey)));
      const lost = page.filter((k) => unknown.has(k.idempotencyKey)).map((k) => k.id);
      if (lost.length === 0) continue;
      const requeue = store.requeueDelivered(lost, REQUEUE_REASON);
      result.requeued.push(...requeue.requeued);
      result.erased.push(...requeue.erased);
    }
    this.lostForGood.set(transport.name, result.erased.length);
    log.info({ upstream: transport.name, checked: result.checked, requeued: result.requeued.length, erased: result.erased.length }, 'reconciliation done');
    if (result.erased.length > 0) {
      log.error({ upstream: transport.name, ids: result.erased }, 'the upstream lost deliveries whose payload is already purged: they cannot be sent again');
      this.emit('lost', { upstream: transport.name, ids: result.erased });
    }
    return result;
  }

  private transport(upstream: string): ReconcileTransport {
    const transport = this.transports.get(upstream);
    if (!transport) throw new RangeError(`no transport for upstream "${upstream}"`);
    return transport;
  }
}
