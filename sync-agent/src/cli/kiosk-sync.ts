import { createLogger, KioskError, loadConfig, parseCliArgs, runCommands, scrubText, type KioskConfig } from '@kiosk/common';
import { notifyAgent, TransactionStore, type UpstreamOutboxStatus } from '@kiosk/store';
import { certificateState, type AgentHealth, type CertificateState } from '../agent/sync-agent.js';
import { runAgent } from '../agent/run-agent.js';
import { Contracts } from '../contracts/index.js';
import { Reconciler } from '../relay/reconciler.js';
import { createUpstreamTransports } from '../transport/index.js';
import { DEFAULT_BACKOFF, classifyAnswer } from '../delivery-policy.js';
import { loadClientTls } from '../tls/index.js';

const HELP = `kiosk-sync: the sync agent (outbox relay to upstream systems)

Usage:
  kiosk-sync run [--once] [--max-wait SECONDS]
      Deliver the outbox to the upstreams in sync.upstreams over mTLS (sync.clientCert, sync.clientKey,
      sync.upstreamCa). Long-running: serves GET /health, GET /metrics and POST /notify on
      127.0.0.1:sync.agent.port, stops on SIGINT/SIGTERM after the round in flight. --once: deliver until
      nothing is due, wait for retries due within --max-wait (default 60 s), then exit 0 when the outbox is
      empty, or 1 naming what still waits (a stopped upstream, a later Retry-After). Progress: one updating
      line on a terminal, a log line every 10 s.
  kiosk-sync status [--json]
      Per upstream: pending, in flight, delivered, dead-lettered, oldest pending age, health; and the client
      certificate's expiry. From the running agent's /health when it answers ("source": "agent"), else from
      the store and the certificate files ("source": "store": upstream health unknown).
  kiosk-sync dead-letters [--json] [--upstream NAME] [--limit N]
      Deliveries an upstream rejected for good, with the reason: ids, keys and attempts, never payloads
      (ID-number-shaped text and URL query strings in reasons are masked). --limit defaults to 100.
  kiosk-sync retry ID | --all [--upstream NAME]
      Put dead letters back in the queue (a fresh attempt budget), then notify the running agent.
  kiosk-sync policy [--json] [--attempts N]
      Print how upstream answers are treated and the retry ceiling per attempt (full-jitter backoff: the
      delay is uniform below it).
  kiosk-sync --help

Configuration: kiosk.config.json named by $KIOSK_CONFIG, or KIOSK_* variables (docs/configuration.md).
Logs (pino, stderr) never carry payloads, tokens or URL query strings (docs/sync.md, Operations).
Exit codes: 0 done, 1 a typed failure, 2 usage error.`;

const STATUSES = [200, 409, 400, 401, 403, 408, 422, 429, 500, 503, undefined] as const;

function human(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

async function policy(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { json: { type: 'boolean' }, attempts: { type: 'string' } }, strict: true }, HELP);
  const attempts = Number(values.attempts ?? 12);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) throw new KioskError('USAGE', `--attempts must be an integer 1..100\n\n${HELP}`);
  const answers = STATUSES.map((status) => ({ status: status ?? null, outcome: classifyAnswer({ status }).kind }));
  const schedule = Array.from({ length: attempts }, (_, attempt) => ({ attempt, ceilingMs: Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** attempt) }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ backoff: DEFAULT_BACKOFF, answers, schedule }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write('upstream answer -> outcome\n');
  for (const a of answers) process.stdout.write(`  ${String(a.status ?? 'no answer').padEnd(9)} -> ${a.outcome}\n`);
  process.stdout.write(`retry delay ceiling per attempt (base ${human(DEFAULT_BACKOFF.baseMs)}, cap ${human(DEFAULT_BACKOFF.capMs)}):\n`);
  for (const s of schedule) process.stdout.write(`  attempt ${String(s.attempt + 1).padStart(2)}: < ${human(s.ceilingMs)}\n`);
  return 0;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new KioskError('USAGE', `${name} must be a positive integer\n\n${HELP}`);
  return n;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { once: { type: 'boolean' }, 'max-wait': { type: 'string' } }, strict: true }, HELP);
  const config = loadConfig();
  const log = createLogger({ name: 'kiosk-sync', level: config.log.level });
  const contracts = await Contracts.load();
  await runAgent({
    config,
    log,
    transports: (tls) => createUpstreamTransports({ config, tls, contracts, deviceId: config.device.id, log }),
    reconciler: ({ store, transports }) => new Reconciler({ store, transports, log }),
    once: values.once ?? false,
    maxWaitMs: positiveInt(values['max-wait'], '--max-wait', 60) * 1000,
    tty: process.stderr.isTTY ? process.stderr : undefined,
  });
  return 0;
}

type StatusRow = Partial<UpstreamOutboxStatus> & { state?: string; reason?: string };
interface StatusReport {
  /** Where the figures come from: the running agent, or the store and certificate files (health unknown). */
  source: 'agent' | 'store';
  status?: AgentHealth['status'];
  upstreams: Record<string, StatusRow>;
  certificate: CertificateState | null;
}

/** The running agent's /health, or undefined when no agent answers on the configured port. */
async function agentHealth(port: number): Promise<AgentHealth | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1500) });
    return res.status === 200 || res.status === 503 ? ((await res.json()) as AgentHealth) : undefined;
  } catch {
    return undefined;
  }
}

async function statusReport(config: KioskConfig): Promise<StatusReport> {
  const health = await agentHealth(config.sync.agent.port);
  if (health) return { source: 'agent', ...health };
  const store = TransactionStore.open({ path: config.store.path, readonly: true });
  try {
    return { source: 'store', upstreams: store.outboxStatus(), certificate: certificateState(() => loadClientTls(config.sync)) };
  } finally {
    store.close();
  }
}

async function status(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { json: { type: 'boolean' } }, strict: true }, HELP);
  const report = await statusReport(loadConfig());
  if (values.json) {
    out(JSON.stringify(report, null, 2));
    return 0;
  }
  out(report.source === 'agent' ? `agent running: ${report.status}` : 'agent not running: figures from the store and the certificate files (upstream health unknown)');
  for (const [upstream, u] of Object.entries(report.upstreams)) {
    const age = u.oldestPendingAgeMs === null || u.oldestPendingAgeMs === undefined ? '-' : human(u.oldestPendingAgeMs);
    const state = u.state === undefined ? '' : `  ${u.state}${u.reason ? ` (${u.reason})` : ''}`;
    out(`  ${upstream.padEnd(16)} pending ${u.pending ?? 0}  in flight ${u.inFlight ?? 0}  delivered ${u.delivered ?? 0}  dead-lettered ${u.deadLettered ?? 0}  oldest pending ${age}${state}`);
  }
  const cert = report.certificate;
  if (cert) out(`client certificate: ${cert.error ? `${cert.error}, ` : ''}expires ${cert.notAfter ?? 'unknown'}`);
  return 0;
}

async function deadLetterList(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { json: { type: 'boolean' }, upstream: { type: 'string' }, limit: { type: 'string' } }, strict: true }, HELP);
  const config = loadConfig();
  const store = TransactionStore.open({ path: config.store.path, readonly: true });
  // An upstream's reason is free text: it is masked like a log line (ID numbers, URL query strings).
  const letters = store
    .deadLetters({ limit: positiveInt(values.limit, '--limit', 100), ...(values.upstream ? { upstream: values.upstream } : {}) })
    .map((d) => ({ ...d, aggregate: scrubText(d.aggregate), lastError: d.lastError === null ? null : scrubText(d.lastError) }));
  store.close();
  if (values.json) {
    out(JSON.stringify(letters, null, 2));
    return 0;
  }
  if (letters.length === 0) out('no dead letters');
  for (const d of letters) out(`${String(d.id).padStart(6)}  ${d.upstream.padEnd(16)} ${d.idempotencyKey}  attempts ${d.attempts}${d.retryable ? '' : '  (erased: not retryable)'}  ${d.lastError ?? ''}`);
  return 0;
}

async function retry(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs({ args, options: { all: { type: 'boolean' }, upstream: { type: 'string' } }, allowPositionals: true, strict: true }, HELP);
  const id = positionals.length === 1 ? Number(positionals[0]) : undefined;
  if ((values.all ?? false) === (id !== undefined) || positionals.length > 1 || (id !== undefined && !Number.isSafeInteger(id))) {
    throw new KioskError('USAGE', `retry takes one delivery ID or --all\n\n${HELP}`);
  }
  const config = loadConfig();
  const store = TransactionStore.fromConfig(config.store, { createKeys: false });
  let count = 1;
  try {
    if (id === undefined) count = store.retryAllDeadLetters(values.upstream);
    else store.retryDeadLetter(id);
  } finally {
    store.close();
  }
  const notified = count > 0 && (await notifyAgent(config.sync.agent));
  out(`${count} dead letter${count === 1 ? '' : 's'} queued again; ${notified ? 'agent notified' : 'the agent sends them at its next poll or start'}`);
  return 0;
}

/** `kiosk-sync COMMAND --help` prints the help (one text covers every command) instead of a usage error. */
function withHelp(command: (args: string[]) => Promise<number>): (args: string[]) => Promise<number> {
  return async (args) => {
    if (!args.includes('--help') && !args.includes('-h')) return command(args);
    out(HELP);
    return 0;
  };
}

runCommands('kiosk-sync', HELP, {
  run: withHelp(run),
  status: withHelp(status),
  'dead-letters': withHelp(deadLetterList),
  retry: withHelp(retry),
  policy: withHelp(policy),
});
