import { EventEmitter } from 'node:events';
import { isKioskError, scrubText, type Logger } from '@kiosk/common';
import type { UpstreamOutboxStatus } from '@kiosk/store';
import { Relay, type OutboxPort, type RelayOptions, type RoundCounts, type UpstreamHealth, type UpstreamTransport } from '../relay/relay.js';
import type { ClientTls, ClientTlsSource } from '../tls/index.js';

/** What the agent needs of the store beyond the relay's claims and marks (TransactionStore has it all). */
export interface AgentStore extends OutboxPort {
  outboxStatus(): Record<string, UpstreamOutboxStatus>;
  nextDueAt(upstreams: readonly string[]): number | null;
}

/** Finds acknowledged deliveries an upstream lost (a restore from backup) and requeues them; built beside the transports. */
export interface Reconciler {
  /** After a round that delivered to `upstream`: a cheap check (e.g. the upstream's received count). */
  afterRound(upstream: string): Promise<unknown>;
  /** The full comparison, every `reconcileIntervalMs`. */
  reconcile(upstream: string): Promise<unknown>;
}

export interface SyncAgentOptions {
  store: AgentStore;
  transports: readonly UpstreamTransport[];
  log: Logger;
  /** The client certificate in force: a reload resumes stopped upstreams and flushes. */
  tls?: ClientTlsSource;
  reconciler?: Reconciler;
  /** Backstop poll when no notification comes. */
  pollIntervalMs: number;
  reconcileIntervalMs?: number;
  /** Passed to the relay (batch size, lease, backoff, clock). */
  relay?: Omit<RelayOptions, 'store' | 'upstreams' | 'log'>;
}

export type WakeReason = 'notify' | 'tls-reloaded' | 'timer' | 'stop';

export interface AgentRound {
  counts: RoundCounts;
  newestFirst: boolean;
  durationMs: number;
}

export interface SyncAgentEvents {
  round: [AgentRound];
  alert: [{ upstream: string; reason: string }];
  resumed: [{ upstream: string }];
  /** Nothing due: the loop sleeps up to `sleepMs`. */
  idle: [{ sleepMs: number }];
  wake: [{ reason: WakeReason }];
}

export interface CertificateState {
  notAfter: string | null;
  fingerprint256: string | null;
  /** The typed error when no usable certificate is in force (expired, unreadable...). */
  error: string | null;
}

export interface AgentHealth {
  status: 'ok' | 'degraded';
  upstreams: Record<string, UpstreamHealth & Partial<UpstreamOutboxStatus>>;
  certificate: CertificateState | null;
}

export interface OnceResult {
  counts: RoundCounts;
  /** Upstreams with deliveries still pending when `runOnce` gave up, and how many. */
  remaining: Record<string, number>;
  stopped: string[];
  complete: boolean;
}

/** A floor for sleeps computed from the store: a due time in the past must not spin the loop. */
const MIN_SLEEP_MS = 50;

const busy = (c: RoundCounts): boolean => c.delivered + c.retried + c.deadLettered + c.bookkeepingFailed > 0;

function addInto(into: RoundCounts, from: RoundCounts): void {
  into.delivered += from.delivered;
  into.retried += from.retried;
  into.deadLettered += from.deadLettered;
  into.bookkeepingFailed += from.bookkeepingFailed;
}

/**
 * The client certificate's expiry and error, read without failing (an expired certificate still has a date):
 * `load` is the source's `current()` in the agent, `loadClientTls` of the files in `kiosk-sync status`.
 */
export function certificateState(load: () => ClientTls): CertificateState {
  try {
    const { certificate } = load();
    return { notAfter: certificate.notAfter.toISOString(), fingerprint256: certificate.fingerprint256, error: null };
  } catch (err) {
    const notAfter = isKioskError(err) && typeof err.details?.notAfter === 'string' ? err.details.notAfter : null;
    return { notAfter, fingerprint256: null, error: isKioskError(err) ? err.code : String(err) };
  }
}

/**
 * The sync agent: runs relay rounds while deliveries are due, then sleeps until the kiosk notifies it, the backstop
 * poll, a new client certificate, or the earliest retry or lease comes due. Rounds alternate oldest-first and
 * newest-first claims, so a transaction recorded during a long backlog drain goes out within two rounds while the
 * backlog still drains at full speed (both ends of it are taken). `stop()` lets the round in flight finish: the relay
 * marks only what the upstream acknowledged, the rest stays pending under its lease.
 */
export class SyncAgent extends EventEmitter<SyncAgentEvents> {
  readonly relay: Relay;
  private readonly names: string[];
  private rounds = 0;
  private stopping = false;
  private wakeRequested = false;
  private wakeSleeper: ((reason: WakeReason) => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private nextReconcileAt: number;
  private readonly deliveredTo = new Set<string>();
  private readonly now: () => number;
  private readonly onReloaded = (): void => this.certificateInstalled();

  constructor(private readonly options: SyncAgentOptions) {
    super();
    this.now = options.relay?.now ?? Date.now;
    this.names = options.transports.map((t) => t.name);
    this.relay = new Relay({ ...options.relay, store: options.store, upstreams: options.transports, log: options.log });
    this.relay.on('alert', (alert) => this.emit('alert', { upstream: alert.upstream, reason: scrubText(alert.reason) }));
    this.relay.on('round', ({ upstream, counts }) => {
      if (counts.delivered > 0) this.deliveredTo.add(upstream);
    });
    this.nextReconcileAt = this.now() + (options.reconcileIntervalMs ?? 3_600_000);
    options.tls?.on('reloaded', this.onReloaded);
  }

  /** The kiosk recorded new rows (POST /notify): flush at once, or right after the round in flight. */
  notify(): void {
    this.wake('notify');
  }

  /** Starts the delivery loop (idempotent). */
  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Finishes the round in flight, then stops; nothing unacknowledged is marked. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake('stop');
    await this.loopDone;
    this.options.tls?.off('reloaded', this.onReloaded);
  }

  health(): AgentHealth {
    const status = this.options.store.outboxStatus();
    const upstreams = Object.fromEntries(Object.entries(this.relay.upstreamHealth()).map(([name, h]) => [name, { ...h, ...(h.state === 'stopped' ? { reason: scrubText(h.reason) } : {}), ...status[name] }]));
    const { tls } = this.options;
    const certificate = tls ? certificateState(() => tls.current()) : null;
    const degraded = Object.values(upstreams).some((u) => u.state !== 'ok') || (certificate?.error ?? null) !== null;
    return { status: degraded ? 'degraded' : 'ok', upstreams, certificate };
  }

  /**
   * `kiosk-sync run --once`: delivers until nothing is due for a healthy upstream. Retries that come due within
   * `maxWaitMs` of the start are waited for; later ones, and deliveries to a stopped upstream, are left pending and
   * named in the result (complete = false), so the call always ends.
   */
  async runOnce(maxWaitMs: number): Promise<OnceResult> {
    const deadline = this.now() + maxWaitMs;
    const counts: RoundCounts = { delivered: 0, retried: 0, deadLettered: 0, bookkeepingFailed: 0 };
    while (!this.stopping) {
      const round = await this.step();
      if (round) addInto(counts, round);
      if (round && busy(round)) continue;
      const nextDue = this.options.store.nextDueAt(this.healthy());
      if (nextDue === null || nextDue > deadline) break;
      await this.sleep(Math.max(MIN_SLEEP_MS, nextDue - this.now()));
    }
    const remaining = Object.fromEntries(
      Object.entries(this.options.store.outboxStatus())
        .filter(([, s]) => s.pending > 0)
        .map(([name, s]) => [name, s.pending]),
    );
    const stopped = this.names.filter((name) => this.relay.upstreamHealth()[name]?.state === 'stopped');
    return { counts, remaining, stopped, complete: Object.keys(remaining).length === 0 };
  }

  private healthy(): string[] {
    const health = this.relay.upstreamHealth();
    return this.names.filter((name) => health[name]?.state === 'ok');
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const round = await this.step();
      if (this.stopping) break;
      if (round && busy(round)) continue;
      await this.sleep(this.idleDelay());
    }
  }

  /** One relay round, alternating claim order; a failing round is logged and the loop goes on (claims run out). */
  private async step(): Promise<RoundCounts | undefined> {
    this.wakeRequested = false;
    const newestFirst = this.rounds++ % 2 === 1;
    const started = performance.now();
    let counts: RoundCounts;
    try {
      counts = await this.relay.round({ newestFirst });
    } catch (err) {
      this.options.log.error({ error: err instanceof Error ? err.name : typeof err, code: isKioskError(err) ? err.code : undefined }, 'delivery round failed; its claims run out and the deliveries go again');
      return undefined;
    }
    this.emit('round', { counts, newestFirst, durationMs: performance.now() - started });
    await this.reconcile();
    return counts;
  }

  /** The reconciler's checks: after rounds that delivered, and the full one on its interval. Failures are logged only. */
  private async reconcile(): Promise<void> {
    const { reconciler, log } = this.options;
    if (!reconciler) return this.deliveredTo.clear();
    const due = this.now() >= this.nextReconcileAt;
    if (due) this.nextReconcileAt = this.now() + (this.options.reconcileIntervalMs ?? 3_600_000);
    const checks: Array<[keyof Reconciler, string]> = [...this.deliveredTo].map((upstream) => ['afterRound', upstream]);
    this.deliveredTo.clear();
    if (due) checks.push(...this.healthy().map((upstream): [keyof Reconciler, string] => ['reconcile', upstream]));
    for (const [check, upstream] of checks) {
      try {
        await reconciler[check](upstream);
      } catch (err) {
        log.warn({ upstream, check, code: isKioskError(err) ? err.code : undefined }, 'reconciliation failed; it runs again later');
      }
    }
  }

  private idleDelay(): number {
    const { pollIntervalMs, reconciler } = this.options;
    const now = this.now();
    const nextDue = this.options.store.nextDueAt(this.healthy());
    let delay = nextDue === null ? pollIntervalMs : Math.min(pollIntervalMs, Math.max(MIN_SLEEP_MS, nextDue - now));
    if (reconciler) delay = Math.min(delay, Math.max(MIN_SLEEP_MS, this.nextReconcileAt - now));
    return delay;
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested || this.stopping) return Promise.resolve();
    this.emit('idle', { sleepMs: ms });
    return new Promise((resolve) => {
      const timer = setTimeout(() => done('timer'), ms);
      const done = (reason: WakeReason): void => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        this.emit('wake', { reason });
        resolve();
      };
      this.wakeSleeper = done;
    });
  }

  private wake(reason: WakeReason): void {
    this.wakeRequested = true;
    this.wakeSleeper?.(reason);
  }

  /** A new client certificate: every stopped upstream is tried again at once. */
  private certificateInstalled(): void {
    for (const [upstream, health] of Object.entries(this.relay.upstreamHealth())) {
      if (health.state !== 'stopped') continue;
      this.relay.resume(upstream);
      this.options.log.info({ upstream }, 'new client certificate: upstream resumed');
      this.emit('resumed', { upstream });
    }
    this.wake('tls-reloaded');
  }
}
