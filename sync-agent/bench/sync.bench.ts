import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@kiosk/common';
import type { BenchCase, BenchSuite } from '@kiosk/common/bench';
import { sampleDeliveries, syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { TransactionStore, type NewTransaction } from '@kiosk/store';
import { Contracts, type DeliveredUpstream } from '../src/contracts/index.js';
import { Relay } from '../src/relay/relay.js';
import { ClientTlsSource } from '../src/tls/index.js';
import { HttpsUpstreamTransport } from '../src/transport/index.js';
import { naiveDrain } from './naive-client.js';

/**
 * The sync agent's delivery rate over mTLS: the relay (claimDue, HttpsUpstreamTransport with keep-alive connections
 * and contract checks, batched marks) draining a backlog to the three delivering simulators, which run in their own
 * process (`kiosk-upstream-sim serve`, durable per acknowledgement) so each side's CPU is measured apart (this
 * process: process.cpuUsage; the simulators: /proc/PID/stat). A sweep over batch size, then concurrency at batch 50;
 * a 100k-delivery backlog drained (target: under 60 s); and in the same run a naive client (one new TLS connection
 * and one store commit per row, naive-client.ts) on a smaller sample (target: the relay at least 10x its rate).
 * The store's side of batched bookkeeping (one commit per batch vs per row) is in store/bench/store.bench.ts.
 *
 * Each delivery is its own aggregate (a dossier per transaction), so batches fill; payloads are the contract samples
 * of @kiosk/fixtures (the synthetic load's payloads are not in the contracts' outbox shapes).
 */
const SWEEP_ROWS = 2_500;
const NAIVE_ROWS = 600;
const BACKLOG = 100_000;
const UPSTREAMS: readonly DeliveredUpstream[] = ['city-tthc', 'population-lgsp', 'hospital-fhir'];
const SIM_BIN = fileURLToPath(new URL('../bin/kiosk-upstream-sim.js', import.meta.url));
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const pki = syncPki();
const log = createLogger({ name: 'sync-bench', level: 'error' });
let root = '';
let sim: ChildProcess | undefined;
let urls: Record<DeliveredUpstream, string>;
let contracts: Contracts;
let tls: ClientTlsSource;
let stores = 0;

/** The simulators' CPU so far in ms (user + system), from /proc. */
function simCpuMs(): number {
  const stat = readFileSync(`/proc/${sim!.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function startSimulators(pkiDir: string): Promise<void> {
  const child = spawn(process.execPath, [SIM_BIN, 'serve', '--pki', pkiDir, '--dir', join(root, 'sim'), '--base-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  sim = child;
  // Its log (a line per delivery recorded) is read and dropped, as a service manager would take it; errors shown.
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!line.startsWith('{"level":30')) process.stderr.write(`kiosk-upstream-sim: ${line}\n`);
  });
  const found: Partial<Record<DeliveredUpstream, string>> = {};
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`kiosk-upstream-sim exited ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^(\S+)\s+(https:\/\/\S+)$/.exec(line);
      if (m && (UPSTREAMS as readonly string[]).includes(m[1]!)) found[m[1] as DeliveredUpstream] = m[2]!;
      if (line.startsWith('admin token')) resolve();
    });
  });
  urls = found as Record<DeliveredUpstream, string>;
}

const samples = new Map(UPSTREAMS.map((u) => [u, sampleDeliveries().filter((s) => s.upstream === u)]));
/** `n` transactions, one delivery each, round robin over the three upstreams, each its own aggregate. */
function backlogStore(n: number): TransactionStore {
  const dir = join(root, `store-${stores++}`);
  mkdirSync(dir);
  const store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
  const tx = (i: number): NewTransaction => {
    const upstream = UPSTREAMS[i % UPSTREAMS.length]!;
    const of = samples.get(upstream)!;
    return { kind: 'public-service-submission', status: 'completed', verdict: { chip: 'genuine' }, deliveries: [{ upstream, aggregate: `dossier-${stores}-${i}`, payload: of[i % of.length]!.payload }] };
  };
  for (let done = 0; done < n; done += 1000) store.recordMany(Array.from({ length: Math.min(1000, n - done) }, (_, k) => tx(done + k)));
  return store;
}

interface Run {
  rows: number;
  seconds: number;
  perSecond: number;
  agentCpuMsPerRecord: number;
  simCpuMsPerRecord: number;
}

/** Times `deliver` on a store holding `rows` pending deliveries (recording them is not timed). */
async function timed(store: TransactionStore, rows: number, deliver: () => Promise<number>): Promise<Run> {
  try {
    const cpu0 = ownCpuMs();
    const sim0 = simCpuMs();
    const t0 = process.hrtime.bigint();
    const delivered = await deliver();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (delivered !== rows) throw new Error(`delivered ${delivered} of ${rows}`);
    return { rows, seconds, perSecond: rows / seconds, agentCpuMsPerRecord: (ownCpuMs() - cpu0) / rows, simCpuMsPerRecord: (simCpuMs() - sim0) / rows };
  } finally {
    store.close();
  }
}

function relayRun(store: TransactionStore, rows: number, batchSize: number, concurrency: number): Promise<Run> {
  const transports = UPSTREAMS.map((upstream) => new HttpsUpstreamTransport({ upstream, endpoint: { url: urls[upstream], timeoutMs: 10_000 }, concurrency, tls, contracts, deviceId: pki.deviceId, log }));
  const relay = new Relay({ store, upstreams: transports, log, batchSize });
  return timed(store, rows, async () => (await relay.drain()).delivered).finally(() => transports.forEach((t) => t.close()));
}

/** One run per key, shared by the cases that report its figures. */
const runs = new Map<string, Promise<Run>>();
function once(key: string, make: () => Promise<Run>): Promise<Run> {
  let run = runs.get(key);
  if (!run) {
    run = make().then((r) => {
      process.stderr.write(`  ${key}: ${r.rows} rows in ${r.seconds.toFixed(2)} s = ${r.perSecond.toFixed(0)}/s, agent ${r.agentCpuMsPerRecord.toFixed(3)} ms CPU/record, simulators ${r.simCpuMsPerRecord.toFixed(3)} ms CPU/record\n`);
      return r;
    });
    runs.set(key, run);
  }
  return run;
}

const relayPoint = (batch: number, concurrency: number): Promise<Run> => once(`relay batch ${batch} concurrency ${concurrency}`, () => relayRun(backlogStore(SWEEP_ROWS), SWEEP_ROWS, batch, concurrency));
const naive = (): Promise<Run> => once('naive one request per row', () => {
  const store = backlogStore(NAIVE_ROWS);
  return timed(store, NAIVE_ROWS, () => naiveDrain(store, tls.current(), urls, pki.deviceId));
});

/** The 100k backlog: recorded once, copied (with its keys) so the timed drain starts from a file not in any cache of ours. */
const drain = (): Promise<Run> =>
  once(`relay 100k drain (batch 50, concurrency 8)`, async () => {
    process.stderr.write(`recording a backlog of ${BACKLOG} deliveries ...\n`);
    const made = backlogStore(BACKLOG);
    made.db.pragma('wal_checkpoint(TRUNCATE)');
    made.close();
    const from = join(root, `store-${stores - 1}`);
    const to = join(root, 'drain');
    mkdirSync(to);
    for (const f of ['store.db', 'wrap.key', 'sign.pem']) copyFileSync(join(from, f), join(to, f));
    const store = TransactionStore.open({ path: join(to, 'store.db'), keyFile: join(to, 'wrap.key'), signingKeyFile: join(to, 'sign.pem') });
    return relayRun(store, BACKLOG, 50, 8);
  });

const BATCHES = [1, 10, 50, 200];
const CONCURRENCIES = [1, 4, 16];

const suite: BenchSuite = {
  title: 'sync agent',
  skipReason: () => (process.platform === 'linux' ? undefined : 'reads the simulator process CPU from /proc (Linux only)'),
  setup: async () => {
    root = mkdtempSync(join(tmpdir(), 'kiosk-sync-bench-'));
    const pkiDir = join(root, 'pki');
    mkdirSync(pkiDir);
    await writeSyncPkiFolder(pkiDir, pki);
    contracts = await Contracts.load();
    tls = new ClientTlsSource({ clientCert: join(pkiDir, 'device.pem'), clientKey: join(pkiDir, 'device-key.pem'), upstreamCa: join(pkiDir, 'ca.pem') });
    await startSimulators(pkiDir);
  },
  cases: () => {
    const cases: BenchCase[] = [];
    for (const b of BATCHES) {
      cases.push(
        {
          kind: 'figure', name: `records/s, batch ${b}, concurrency 8 (${SWEEP_ROWS} rows)`, unit: 'rec/s', lowerIsBetter: false, samples: 1,
          ours: async () => (await relayPoint(b, 8)).perSecond,
          // The naive client on its own sample, next to the default batch size.
          ...(b === 50 ? { peers: { [`naive: new TLS connection + commit per row (${NAIVE_ROWS} rows)`]: async () => (await naive()).perSecond } } : {}),
        },
        { kind: 'figure', name: `agent CPU per record, batch ${b}`, unit: 'ms', lowerIsBetter: true, samples: 1, ours: async () => (await relayPoint(b, 8)).agentCpuMsPerRecord, peers: { 'simulators process': async () => (await relayPoint(b, 8)).simCpuMsPerRecord } },
      );
    }
    for (const c of CONCURRENCIES) cases.push({ kind: 'figure', name: `records/s, batch 50, concurrency ${c}`, unit: 'rec/s', lowerIsBetter: false, samples: 1, ours: async () => (await relayPoint(50, c)).perSecond });
    cases.push(
      {
        kind: 'figure', name: 'relay / naive delivery rate (target >= 10x)', unit: 'x', lowerIsBetter: false, samples: 1,
        ours: async () => {
          const ratio = (await relayPoint(50, 8)).perSecond / (await naive()).perSecond;
          process.stderr.write(`  relay / naive = ${ratio.toFixed(1)}x (target >= 10x): ${ratio >= 10 ? 'PASS' : 'FAIL'}\n`);
          return ratio;
        },
      },
      {
        kind: 'figure', name: `${BACKLOG / 1000}k backlog drained, batch 50, concurrency 8 (target < 60 s)`, unit: 's', lowerIsBetter: true, samples: 1,
        ours: async () => {
          const r = await drain();
          process.stderr.write(`  100k drain: ${r.seconds.toFixed(1)} s (target < 60 s): ${r.seconds < 60 ? 'PASS' : 'FAIL'}\n`);
          return r.seconds;
        },
      },
      { kind: 'figure', name: `${BACKLOG / 1000}k drain: records/s`, unit: 'rec/s', lowerIsBetter: false, samples: 1, ours: async () => (await drain()).perSecond },
      { kind: 'figure', name: `${BACKLOG / 1000}k drain: agent CPU per record`, unit: 'ms', lowerIsBetter: true, samples: 1, ours: async () => (await drain()).agentCpuMsPerRecord, peers: { 'simulators process': async () => (await drain()).simCpuMsPerRecord } },
    );
    return cases;
  },
  teardown: async () => {
    tls?.close();
    if (sim && sim.exitCode === null) {
      const exited = new Promise((resolve) => sim!.once('exit', resolve));
      sim.kill('SIGTERM');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  },
};

export default suite;
