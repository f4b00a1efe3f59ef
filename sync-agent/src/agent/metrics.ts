import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RoundCounts } from '../relay/relay.js';
import type { ClientTlsSource } from '../tls/index.js';
import { certificateState, type AgentHealth, type SyncAgent } from './sync-agent.js';

const COUNTERS: Array<[keyof RoundCounts, string, string]> = [
  ['delivered', 'kiosk_sync_delivered_total', 'Deliveries the upstream acknowledged and the store marked delivered.'],
  ['retried', 'kiosk_sync_retried_total', 'Deliveries scheduled for a retry (no answer, 408/429/5xx).'],
  ['deadLettered', 'kiosk_sync_dead_lettered_total', 'Deliveries the upstream rejected for good (other 4xx), moved to the dead letters.'],
  ['bookkeepingFailed', 'kiosk_sync_bookkeeping_failed_total', 'Answered deliveries whose local mark failed: sent again after their lease.'],
];

/**
 * The agent's Prometheus metrics, in a registry of its own (prom-client's default one is process-global). Counters
 * move with the relay's rounds; the outbox gauges are read from the store at scrape time, so they are right even
 * when another agent or `kiosk-sync retry` changed the outbox.
 */
export interface AgentMetrics {
  registry: Registry;
  contentType: string;
  /** The exposition text, the outbox read once for all its gauges. */
  render(): Promise<string>;
}

export function agentMetrics(agent: SyncAgent, tls?: ClientTlsSource): AgentMetrics {
  const registry = new Registry();
  const counters = COUNTERS.map(([key, name, help]) => [key, new Counter({ name, help, labelNames: ['upstream'], registers: [registry] })] as const);
  agent.relay.on('round', ({ upstream, counts }) => {
    for (const [key, counter] of counters) if (counts[key] > 0) counter.inc({ upstream }, counts[key]);
  });
  const rounds = new Histogram({ name: 'kiosk_sync_round_duration_seconds', help: 'Duration of one delivery round (all upstreams at once).', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  agent.on('round', ({ durationMs }) => rounds.observe(durationMs / 1000));

  // One store read per scrape (render), not one per gauge: prom-client collects each gauge separately.
  let scrape: AgentHealth | undefined;
  const health = (): AgentHealth => scrape ?? agent.health();
  const outbox = (name: string, help: string, pick: (s: AgentHealth['upstreams'][string]) => number | undefined): Gauge => {
    const gauge: Gauge = new Gauge({
      name,
      help,
      labelNames: ['upstream'],
      registers: [registry],
      collect() {
        gauge.reset();
        for (const [upstream, s] of Object.entries(health().upstreams)) {
          const value = pick(s);
          if (value !== undefined) gauge.set({ upstream }, value);
        }
      },
    });
    return gauge;
  };
  outbox('kiosk_sync_pending', 'Deliveries not yet acknowledged (in flight included), per upstream.', (s) => s.pending ?? 0);
  outbox('kiosk_sync_in_flight', 'Deliveries claimed by an agent and not yet answered.', (s) => s.inFlight ?? 0);
  outbox('kiosk_sync_oldest_pending_age_seconds', 'Age of the oldest pending delivery (0 when none).', (s) => (s.oldestPendingAgeMs ?? 0) / 1000);
  outbox('kiosk_sync_upstream_up', '1 while the upstream is delivered to, 0 while stopped (its credentials were refused).', (s) => (s.state === 'ok' ? 1 : 0));
  if (tls) {
    const expiry: Gauge = new Gauge({
      name: 'kiosk_sync_client_certificate_expiry_timestamp_seconds',
      help: "Unix time the agent's client certificate expires (absent when no certificate could be read).",
      registers: [registry],
      collect() {
        expiry.reset();
        const { notAfter } = certificateState(() => tls.current());
        if (notAfter !== null) expiry.set(Date.parse(notAfter) / 1000);
      },
    });
  }
  return {
    registry,
    contentType: registry.contentType,
    render: async () => {
      scrape = agent.health();
      try {
        return await registry.metrics();
      } finally {
        scrape = undefined;
      }
    },
  };
}
