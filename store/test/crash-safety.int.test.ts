import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTempStore, tempStoreDir } from './helpers/temp-store.js';

const WRITER = fileURLToPath(new URL('./helpers/crash-writer.ts', import.meta.url));
const ROUNDS = 40;
const dir = tempStoreDir();
afterAll(() => dir.cleanup());

interface Round {
  acked: string[];
  signal: NodeJS.Signals | null;
}

/**
 * One life of the writer: killed with SIGKILL at a random moment, usually a random 0-150 ms after its first
 * acknowledgement, every fourth round at a random moment of its start-up (opening, migrating, key loading).
 */
function runWriter(round: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir.path, dir.keyFile, dir.signingKeyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    const kill = (): boolean => child.kill('SIGKILL');
    if (round % 4 === 3) setTimeout(kill, Math.random() * 600);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!armed && out.includes('ack ')) {
        armed = true;
        setTimeout(kill, Math.random() * 150);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const guard = setTimeout(kill, 15_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code} ${signal}: ${err}`));
      // Only complete lines count: a line cut by the kill was never acknowledged.
      const acked = out.split('\n').slice(0, -1).filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
      resolve({ acked, signal });
    });
  });
}

describe('kill -9 campaign', () => {
  it(`${ROUNDS} SIGKILLs at random points: every acknowledged transaction is present exactly once with its outbox rows`, async () => {
    const acked: string[] = [];
    let killedDuringWork = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runWriter(round);
      acked.push(...r.acked);
      if (r.acked.length > 0) killedDuringWork++;

      const store = openTempStore(dir);
      try {
        expect(store.integrityCheck()).toEqual(['ok']);
        const rows = store.db.prepare('SELECT t.id, count(o.id) AS deliveries FROM transactions t LEFT JOIN outbox o ON o.transaction_id = t.id GROUP BY t.id').all() as Array<{ id: string; deliveries: number }>;
        const present = new Map(rows.map((x) => [x.id, x.deliveries]));
        for (const id of acked) expect(present.get(id), `acknowledged ${id} after round ${round}`).toBe(2);
        expect(new Set(acked).size).toBe(acked.length);
        // Committed but unacknowledged (killed between commit and print) is allowed; anything else must be whole too.
        for (const [id, n] of present) expect(n, id).toBe(2);
        const seqs = store.db.prepare('SELECT count(*) AS n, count(DISTINCT seq) AS d, max(seq) AS m FROM transactions').get() as { n: number; d: number; m: number | null };
        expect(seqs.d).toBe(seqs.n);
        expect(seqs.m ?? 0).toBe(seqs.n); // device sequence has no holes: no transaction half-written then lost
        for (const agg of ['his', 'population']) {
          const a = store.db.prepare('SELECT count(*) AS n, max(aggregate_seq) AS m FROM outbox WHERE aggregate = ?').get(agg) as { n: number; m: number | null };
          expect(a.m ?? 0).toBe(a.n);
        }
        const audit = store.verifyAudit();
        expect(audit.problems).toEqual([]);
        expect(audit.entries).toBeGreaterThanOrEqual(present.size);
      } finally {
        store.close();
      }
    }
    expect(acked.length).toBeGreaterThan(ROUNDS);
    expect(killedDuringWork).toBeGreaterThan(ROUNDS / 2);
  }, 120_000);
});
