import { KioskError, parseCliArgs, runCommands } from '@kiosk/common';
import { DEFAULT_BACKOFF, classifyAnswer } from '../delivery-policy.js';

const HELP = `kiosk-sync: the sync agent (outbox relay to upstream systems)

Usage:
  kiosk-sync policy [--json] [--attempts N]   print how upstream answers are treated and the retry ceiling
                                              per attempt (full-jitter backoff: the delay is uniform below it)
  kiosk-sync --help

The relay core (sync-agent/src/relay/) is built and tested; \`kiosk-sync run\`, \`status\`, \`dead-letters\` and
\`retry\` come with its HTTPS transports (issue 14, docs/sync.md).`;

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

runCommands('kiosk-sync', HELP, {
  policy: policy,
});
