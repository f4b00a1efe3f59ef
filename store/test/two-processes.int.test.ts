import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTempStore, tempStoreDir } from './helpers/temp-store.js';

const WRITER = fileURLToPath(new URL('./helpers/crash-writer.ts', import.meta.url));
const dir = tempStoreDir();
afterAll(() => dir.cleanup());

describe('kiosk service and sync agent on one database', () => {
  it('a writer process records while this process claims and delivers: no busy errors, every delivery once', { timeout: 90_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir.path, dir.keyFile, dir.signingKeyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const agent = openTempStore(dir, { busyTimeoutMs: 5000 });
    const delivered = new Set<string>();
    let duplicates = 0;
    const acked = (): number => out.split('\n').filter((l) => l.startsWith('ack ')).length;
    // Runs until both sides have done real work (a count, not a time: a loaded machine only takes longer);
    // the deadline only stops a hung writer.
    const deadline = Date.now() + 50_000;
    try {
      while ((delivered.size < 30 || acked() < 30) && Date.now() < deadline) {
        for (const d of agent.claimDue({ limit: 10 })) {
          if (delivered.has(d.idempotencyKey)) duplicates++;
          delivered.add(d.idempotencyKey);
          agent.markDelivered(d.id);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(duplicates).toBe(0);
    expect(delivered.size).toBeGreaterThanOrEqual(30);
    expect(acked()).toBeGreaterThanOrEqual(30);
    // The writer delivers some itself (every fifth iteration); together nothing is delivered twice.
    const rows = agent.db.prepare('SELECT count(*) AS n, count(DISTINCT idempotency_key) AS d FROM outbox WHERE delivered_at IS NOT NULL').get() as { n: number; d: number };
    expect(rows.n).toBe(rows.d);
    expect(rows.n).toBeGreaterThanOrEqual(delivered.size);
    expect(agent.verifyAudit().ok).toBe(true);
    agent.close();
  });
});
