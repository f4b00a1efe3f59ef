import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { BenchSuite, FigureCase } from '@kiosk/common/bench';
import { TransactionStore, type NewTransaction } from '../src/index.js';

/**
 * Durable transactions per second: each transaction is its own commit (synchronous=FULL, WAL, fsync per commit),
 * with two outbox rows, field encryption of the citizen and of both payloads, keyed citizen hash and the audit
 * entry; compared in the same run with a plain unencrypted insert of the same three rows per commit and the same
 * pragmas (the floor the disk's fsync rate allows). Then the same with a second process polling the outbox like the
 * sync agent. Size per 100k transactions is extrapolated from 5,000 written (after a WAL checkpoint).
 */
const BATCH = 100;
const READER = fileURLToPath(new URL('./reader.ts', import.meta.url));
let root = '';

const persona = { idNumber: '001090012345', fullName: 'Nguyễn Văn An', dateOfBirth: '1990-03-14', address: 'Số 12 Phố Huế, Hai Bà Trưng, Hà Nội' };
function input(): NewTransaction {
  const { idNumber, ...fields } = persona;
  return {
    kind: 'public-service-submission',
    status: 'completed',
    verdict: { chip: 'genuine', faceMatch: 'match', score: 0.71 },
    citizen: { idNumber, fields },
    deliveries: [
      { upstream: 'dvc', payload: { procedure: '1.001234', citizenId: idNumber, fullName: persona.fullName, address: persona.address } },
      { upstream: 'population', payload: { citizenId: idNumber, purpose: 'verify' } },
    ],
  };
}

interface Target {
  path: string;
  write: () => void;
  close: () => void;
}

function oursTarget(name: string): Target {
  const dir = join(root, name);
  const store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'signing.pem') });
  return { path: store.path, write: () => store.recordTransaction(input()), close: () => store.close() };
}

/** The baseline: the same three rows per commit, same pragmas, no encryption, hash, audit or validation. */
function plainTarget(name: string): Target {
  const path = join(root, `${name}.db`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Column names the reader's outbox query needs; no keys, hashes, audit or sequence look-ups.
  db.exec(`CREATE TABLE IF NOT EXISTS transactions (id TEXT PRIMARY KEY, seq INTEGER, kind TEXT, status TEXT, verdict TEXT, personal TEXT, created_at INTEGER);
           CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, transaction_id TEXT REFERENCES transactions(id), upstream TEXT, idempotency_key TEXT UNIQUE,
             aggregate TEXT, aggregate_seq INTEGER, payload TEXT, next_attempt_at INTEGER, delivered_at INTEGER, dead_letter INTEGER DEFAULT 0, claimed_until INTEGER)`);
  const insT = db.prepare('INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insO = db.prepare('INSERT INTO outbox (transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, payload, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  let seq = 0;
  const write = db.transaction(() => {
    const x = input();
    const id = randomUUID();
    insT.run(id, ++seq, x.kind, x.status, JSON.stringify(x.verdict), JSON.stringify(x.citizen), Date.now());
    for (const d of x.deliveries) insO.run(id, d.upstream, `${id}/${d.upstream}`, d.upstream, seq, JSON.stringify(d.payload), Date.now());
  });
  return { path, write: () => write.immediate(), close: () => db.close() };
}

function txPerSecond(target: Target): () => number {
  return () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) target.write();
    return (BATCH * 1e9) / Number(process.hrtime.bigint() - started);
  };
}

const targets: Target[] = [];
const readers: ChildProcess[] = [];
function keep<T extends Target>(t: T): T {
  targets.push(t);
  return t;
}

/** Starts the reader process on a database and resolves once it polls. */
function startReader(path: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', READER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  readers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`reader exited ${code}`)));
  });
}

function mbPer100k(make: (name: string) => Target, name: string): () => number {
  return () => {
    const t = make(`${name}-${randomUUID()}`);
    const n = 5000;
    for (let i = 0; i < n; i++) t.write();
    t.close();
    const db = new Database(t.path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = statSync(t.path).size;
    return ((bytes / n) * 100_000) / 1e6;
  };
}

const suite: BenchSuite = {
  title: 'transaction store',
  setup: async () => {
    root = mkdtempSync(join(tmpdir(), 'kiosk-store-bench-'));
  },
  cases: async () => {
    const ours = keep(oursTarget('ours'));
    const plain = keep(plainTarget('plain'));
    const oursShared = keep(oursTarget('ours-shared'));
    const plainShared = keep(plainTarget('plain-shared'));
    for (const t of [oursShared, plainShared]) for (let i = 0; i < 200; i++) t.write(); // something to read
    await startReader(oursShared.path);
    await startReader(plainShared.path);
    const cases: FigureCase[] = [
      { kind: 'figure', name: 'durable transactions/s (2 outbox rows, encrypted)', unit: 'tx/s', lowerIsBetter: false, samples: 7, ours: txPerSecond(ours), peers: { 'plain unencrypted insert (same rows, same pragmas)': txPerSecond(plain) } },
      { kind: 'figure', name: 'durable transactions/s, sync agent reading concurrently', unit: 'tx/s', lowerIsBetter: false, samples: 7, ours: txPerSecond(oursShared), peers: { 'plain unencrypted insert, same reader': txPerSecond(plainShared) } },
      { kind: 'figure', name: 'database size per 100k transactions (from 5,000)', unit: 'MB', lowerIsBetter: true, samples: 1, ours: mbPer100k(oursTarget, 'size-ours'), peers: { 'plain unencrypted insert': mbPer100k(plainTarget, 'size-plain') } },
    ];
    return cases;
  },
  teardown: async () => {
    for (const r of readers) r.kill('SIGTERM');
    for (const t of targets) t.close();
    rmSync(root, { recursive: true, force: true });
  },
};

export default suite;
