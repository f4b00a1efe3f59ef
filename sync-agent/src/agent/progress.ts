import type { Logger } from '@kiosk/common';
import type { AgentStore, SyncAgent } from './sync-agent.js';

export interface ProgressOptions {
  log: Logger;
  /** A terminal to keep one updating line on (`kiosk-sync run` on a TTY); none in services. */
  tty?: NodeJS.WriteStream | undefined;
  /** A progress log line at most this often while deliveries flow. */
  logEveryMs?: number;
  now?: () => number;
}

export interface ProgressLine {
  delivered: number;
  pending: number;
  perSecond: number;
  /** Seconds to an empty outbox at the current rate, null while nothing was delivered yet. */
  etaSeconds: number | null;
}

export function formatProgress(p: ProgressLine): string {
  const eta = p.etaSeconds === null ? '?' : p.etaSeconds < 90 ? `${Math.ceil(p.etaSeconds)} s` : `${(p.etaSeconds / 60).toFixed(1)} min`;
  return `delivered ${p.delivered} · pending ${p.pending} · ${p.perSecond.toFixed(0)}/s · ETA ${eta}`;
}

/**
 * Progress of a long drain: on a TTY one line rewritten in place (at most twice a second), in the log one line every
 * `logEveryMs` while deliveries flow. The pending count is read from the store only when a line is due. Returns the
 * function that detaches it (and ends the TTY line).
 */
export function reportProgress(agent: SyncAgent, store: AgentStore, options: ProgressOptions): () => void {
  const now = options.now ?? Date.now;
  const started = now();
  const logEveryMs = options.logEveryMs ?? 10_000;
  let delivered = 0;
  let lastTty = 0;
  let lastLog = started;
  let loggedDelivered = 0;
  let drawn = false;

  const line = (): ProgressLine => {
    const pending = Object.values(store.outboxStatus()).reduce((sum, s) => sum + s.pending, 0);
    const perSecond = delivered / Math.max(0.001, (now() - started) / 1000);
    return { delivered, pending, perSecond, etaSeconds: perSecond > 0 ? pending / perSecond : null };
  };
  const onRound = ({ counts }: { counts: { delivered: number } }): void => {
    delivered += counts.delivered;
    const t = now();
    const ttyDue = options.tty !== undefined && t - lastTty >= 500;
    const logDue = t - lastLog >= logEveryMs && delivered > loggedDelivered;
    if (!ttyDue && !logDue) return;
    const p = line();
    if (ttyDue) {
      options.tty?.write(`\r\x1b[2K${formatProgress(p)}`);
      drawn = true;
      lastTty = t;
    }
    if (logDue) {
      options.log.info({ delivered: p.delivered, pending: p.pending, perSecond: Math.round(p.perSecond), etaSeconds: p.etaSeconds === null ? null : Math.ceil(p.etaSeconds) }, 'sync progress');
      lastLog = t;
      loggedDelivered = delivered;
    }
  };
  agent.on('round', onRound);
  return () => {
    agent.off('round', onRound);
    if (drawn) options.tty?.write('\n');
  };
}
