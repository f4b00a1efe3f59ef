import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, KioskError, parseCliArgs, runCommands, untilSignal } from '@kiosk/common';
import { UPSTREAMS } from '../contracts/index.js';
import { DEFAULT_BASE_PORT, FAULT_KINDS, faultFromFlags, SimulatorDb, startAdmin, startSimulators, type SimulatorTls } from '../simulators/index.js';

const HELP = `kiosk-upstream-sim: simulated upstream systems for the sync agent (a dev and CI tool; docs/sync.md)

Usage:
  kiosk-upstream-sim serve --pki DIR [--dir data/upstream-sim] [--host 127.0.0.1] [--base-port ${DEFAULT_BASE_PORT}]
                           [--admin-port N] [--token T] [--seed N]
      Starts the four simulators over HTTPS with mTLS on consecutive ports: city-tthc (base), population-lgsp
      (base+1), hospital-fhir (base+2), bhyt-check (base+3); and the admin API on 127.0.0.1 (default port base-1).
      Prints their URLs and the admin token (random unless --token), then runs until SIGINT or SIGTERM.
      --pki DIR   the files \`kiosk-sim sync-pki --out DIR\` writes: server.pem and server-key.pem (the simulators'
                  certificate), device-ca.pem (client certificates must chain to it), device-crl.pem (optional:
                  revoked client certificates are refused). Required: the simulators may not import the fixtures.
      --dir DIR   one SQLite file per simulator (<upstream>.sqlite); kept across restarts.
      --seed N    seed of the PRNG that draws probabilistic faults (default 1).

  kiosk-upstream-sim fault --admin URL --token T --upstream NAME KIND [--count K | --probability P]
                           [--ms N] [--status 500|502|503|504] [--retry-after S]
      Arms a fault on one simulator. It applies to the next K requests (default 1), or to each request with
      probability P drawn from the seeded PRNG. KIND is one of:
        drop-before-commit   close the connection before recording anything
        drop-after-commit    record the delivery, then close the connection without an answer
        delay --ms N         answer N ms late
        status --status S    answer S (with Retry-After if --retry-after); nothing recorded
        throttle --retry-after S   answer 429 with Retry-After S; nothing recorded
        reset-mid-response   record, send the status line, headers and half the body, then close
        duplicate-ack        answer a repeat of a held delivery as new (201/200) instead of 409
        clear                disarm every fault of the simulator
        restore --records N  "restored from a backup": forget the last N deliveries (records and dedupe)

  kiosk-upstream-sim stats --admin URL --token T [--upstream NAME]
      Requests, records held, per-device counts, faults injected and armed, restores (JSON).

  kiosk-upstream-sim records --db PATH [--json]
      What a simulator's database holds, in arrival order: arrival, idempotency key, device, stream, seq.

  kiosk-upstream-sim --help

NAME is one of ${UPSTREAMS.join(', ')}.`;

const adminOptions = { admin: { type: 'string' }, token: { type: 'string' } } as const;

function readPem(dir: string, name: string, required: boolean): string | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (!required) return undefined;
    throw new KioskError('USAGE', `--pki ${dir} has no ${name} (write the folder with \`kiosk-sim sync-pki --out ${dir}\`)\n\n${HELP}`);
  }
  return readFileSync(path, 'utf8');
}

function port(value: string | undefined, fallback: number, flag: string): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new KioskError('USAGE', `${flag} must be a port number\n\n${HELP}`);
  return n;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseCliArgs(
    {
      args,
      options: { pki: { type: 'string' }, dir: { type: 'string' }, host: { type: 'string' }, 'base-port': { type: 'string' }, 'admin-port': { type: 'string' }, token: { type: 'string' }, seed: { type: 'string' } },
      strict: true,
    },
    HELP,
  );
  if (values.pki === undefined) throw new KioskError('USAGE', `serve needs --pki DIR\n\n${HELP}`);
  const pki = resolve(values.pki);
  const crl = readPem(pki, 'device-crl.pem', false);
  const tls: SimulatorTls = { cert: readPem(pki, 'server.pem', true)!, key: readPem(pki, 'server-key.pem', true)!, clientCa: readPem(pki, 'device-ca.pem', true)!, ...(crl ? { crl } : {}) };
  const basePort = port(values['base-port'], DEFAULT_BASE_PORT, '--base-port');
  const adminPort = port(values['admin-port'], basePort === 0 ? 0 : basePort - 1, '--admin-port');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new KioskError('USAGE', `--seed must be an integer\n\n${HELP}`);
  const log = createLogger({ name: 'kiosk-upstream-sim' });
  // Listen for the signal before starting: a SIGTERM during start-up still stops cleanly once started.
  const stopped = untilSignal();
  const simulators = await startSimulators({ dir: resolve(values.dir ?? 'data/upstream-sim'), tls, host: values.host ?? '127.0.0.1', basePort, seed, log });
  const admin = await startAdmin(simulators, { port: adminPort, ...(values.token === undefined ? {} : { token: values.token }) });
  for (const s of simulators) process.stdout.write(`${s.upstream.padEnd(16)} ${s.url}\n`);
  process.stdout.write(`${'admin'.padEnd(16)} ${admin.url}\n${'admin token'.padEnd(16)} ${admin.token}\n`);
  await stopped;
  await admin.stop();
  for (const s of simulators) await s.stop();
  process.stdout.write('stopped\n');
  return 0;
}

async function adminCall(values: { admin?: string | undefined; token?: string | undefined }, method: string, path: string, body?: unknown): Promise<unknown> {
  if (values.admin === undefined || values.token === undefined) throw new KioskError('USAGE', `--admin URL and --token T are required\n\n${HELP}`);
  const res = await fetch(new URL(path, values.admin), {
    method,
    headers: { authorization: `Bearer ${values.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await res.json());
  if (!res.ok) throw new KioskError('USAGE', `admin API answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

function upstreamOf(value: string | undefined): string {
  if (value === undefined || !(UPSTREAMS as readonly string[]).includes(value)) throw new KioskError('USAGE', `--upstream must be one of ${UPSTREAMS.join(', ')}\n\n${HELP}`);
  return value;
}

async function fault(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(
    {
      args,
      options: { ...adminOptions, upstream: { type: 'string' }, count: { type: 'string' }, probability: { type: 'string' }, ms: { type: 'string' }, status: { type: 'string' }, 'retry-after': { type: 'string' }, records: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    },
    HELP,
  );
  const [kind, ...extra] = positionals;
  if (kind === undefined || extra.length > 0) throw new KioskError('USAGE', `fault needs one KIND (${[...FAULT_KINDS, 'clear', 'restore'].join(', ')})\n\n${HELP}`);
  const base = `/simulators/${upstreamOf(values.upstream)}`;
  let answer: unknown;
  if (kind === 'clear') answer = await adminCall(values, 'DELETE', `${base}/faults`);
  else if (kind === 'restore') answer = await adminCall(values, 'POST', `${base}/restore`, { records: Number(values.records) });
  else answer = await adminCall(values, 'POST', `${base}/faults`, faultFromFlags(kind, values));
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  return 0;
}

async function stats(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { ...adminOptions, upstream: { type: 'string' } }, strict: true }, HELP);
  const answer = await adminCall(values, 'GET', values.upstream === undefined ? '/simulators' : `/simulators/${upstreamOf(values.upstream)}`);
  process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  return 0;
}

async function records(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { db: { type: 'string' }, json: { type: 'boolean' } }, strict: true }, HELP);
  if (values.db === undefined) throw new KioskError('USAGE', `records needs --db PATH\n\n${HELP}`);
  if (!existsSync(values.db)) throw new KioskError('USAGE', `no database at ${values.db}\n\n${HELP}`);
  const db = new SimulatorDb(values.db, { readonly: true });
  try {
    const held = db.records();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(held, null, 2)}\n`);
      return 0;
    }
    process.stdout.write('arrival  device  stream  seq  idempotency key\n');
    for (const r of held) process.stdout.write(`${String(r.arrival).padStart(7)}  ${r.deviceId}  ${r.stream}  ${r.seq}  ${r.idempotencyKey}\n`);
    process.stdout.write(`${held.length} record(s)\n`);
    return 0;
  } finally {
    db.close();
  }
}

runCommands('kiosk-upstream-sim', HELP, { serve, fault, stats, records });
