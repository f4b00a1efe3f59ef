import { KioskError, untilSignal, type KioskConfig, type Logger } from '@kiosk/common';
import { TransactionStore } from '@kiosk/store';
import type { UpstreamTransport } from '../relay/relay.js';
import { ClientTlsSource } from '../tls/index.js';
import { startAgentEndpoint, type AgentEndpoint } from './endpoint.js';
import { agentMetrics } from './metrics.js';
import { reportProgress } from './progress.js';
import { SyncAgent, type OnceResult, type Reconciler } from './sync-agent.js';

/** A transport that holds connections closes them when the agent stops. */
export interface ClosableTransport extends UpstreamTransport {
  close?(): unknown;
}

export interface RunAgentOptions<T extends ClosableTransport = ClosableTransport> {
  config: KioskConfig;
  /** Builds the upstream transports on the certificate source the agent watches (the HTTPS transports' factory). */
  transports: (tls: ClientTlsSource) => readonly T[];
  /** Gets the transports `transports` built (a reconciler needs their delivery check). */
  reconciler?: (parts: { store: TransactionStore; transports: readonly T[] }) => Reconciler;
  log: Logger;
  /** `--once`: deliver what is due, wait for retries due within `maxWaitMs`, then return. */
  once?: boolean;
  maxWaitMs?: number;
  /** When the agent stops (after the round in flight; `--once` then reports what is left); SIGINT or SIGTERM by default. */
  until?: Promise<void>;
  /** Terminal for the progress line. */
  tty?: NodeJS.WriteStream | undefined;
  /** The long-running agent's endpoint once it listens (tests read the port). */
  onListening?: (endpoint: AgentEndpoint) => void;
}

export const DEFAULT_ONCE_MAX_WAIT_MS = 60_000;

function summary(result: OnceResult): string {
  const waiting = Object.entries(result.remaining).map(([upstream, n]) => `${upstream}: ${n} pending${result.stopped.includes(upstream) ? ' (stopped: credentials refused)' : ''}`);
  return `delivered ${result.counts.delivered}, retried ${result.counts.retried}, dead-lettered ${result.counts.deadLettered}; still waiting: ${waiting.join('; ')}`;
}

/**
 * `kiosk-sync run`: opens the store and the client certificate from the configuration, builds the transports and
 * runs the agent. Long-running, it serves the local endpoint and stops gracefully on SIGINT/SIGTERM (the round in
 * flight finishes). With `once` it has no endpoint; it returns when nothing more is due within `maxWaitMs` and
 * throws SYNC_ONCE_INCOMPLETE, naming what waits, if deliveries are still pending then.
 */
export async function runAgent<T extends ClosableTransport>(options: RunAgentOptions<T>): Promise<OnceResult | undefined> {
  const { config, log } = options;
  const agentConfig = config.sync.agent;
  const tls = new ClientTlsSource(config.sync);
  const store = TransactionStore.fromConfig(config.store);
  const transports = options.transports(tls);
  const agent = new SyncAgent({
    store,
    transports,
    log,
    tls,
    pollIntervalMs: agentConfig.pollIntervalMs,
    reconcileIntervalMs: agentConfig.reconcileIntervalMs,
    relay: { batchSize: agentConfig.batchSize },
    ...(options.reconciler ? { reconciler: options.reconciler({ store, transports }) } : {}),
  });
  agent.on('alert', ({ upstream }) => log.error({ upstream }, 'upstream stopped: install a new client certificate (kiosk-sync status shows why)'));
  tls.on('reload-failed', (err) => log.error({ code: err.code }, 'new client certificate files are unusable; the previous set stays in use'));
  const detachProgress = reportProgress(agent, store, { log, tty: options.tty });
  let endpoint: AgentEndpoint | undefined;
  const stopRequested = options.until ?? untilSignal();
  try {
    if (options.once) {
      void stopRequested.then(() => agent.stop());
      const result = await agent.runOnce(options.maxWaitMs ?? DEFAULT_ONCE_MAX_WAIT_MS);
      log.info({ ...result.counts, remaining: result.remaining, stopped: result.stopped }, 'run --once finished');
      if (!result.complete) throw new KioskError('SYNC_ONCE_INCOMPLETE', summary(result), { details: { ...result } });
      return result;
    }
    endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent, tls), tokenFile: agentConfig.tokenFile, port: agentConfig.port, log });
    options.onListening?.(endpoint);
    agent.start();
    log.info({ upstreams: transports.map((t) => t.name) }, 'sync agent running');
    await stopRequested;
    log.info('stopping: the round in flight finishes first');
    await agent.stop();
    return undefined;
  } finally {
    detachProgress();
    await endpoint?.close();
    await Promise.all(transports.map((t) => t.close?.()));
    tls.close();
    store.close();
  }
}
