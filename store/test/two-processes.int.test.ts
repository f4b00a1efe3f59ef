import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTempStore, tempStoreDir } from './helpers/temp-store.js';

const WRITER = fileURLToPath(new URL('./helpers/crash-writer.ts', import.meta.url));
const dir = tempStoreDir();
afterAll(() => dir.cleanup());

describe('kiosk service and sync agent on one database', () => {
  it('a writer process records while this process claims and delivers: no busy errors, every delivery once', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir.path, dir.keyFile, dir.signingKeyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const agent = openTempStore(dir, { busyTimeoutMs: 5000 });
    const delivered = new Set<string>();
    let duplicates = 0;
    const until = Date.now() + 3000;
    try {
      while (Date.now() < until) {
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
    expect(delivered.size).toBeGreaterThan(10);
    const acked = out.split('\n').filter((l) => l.startsWith('ack ')).length;
    expect(acked).toBeGreaterThan(10);
    // The writer delivers some itself (every fifth iteration); together nothing is delivered twice.
    const rows = agent.db.prepare('SELECT count(*) AS n, count(DISTINCT idempotency_key) AS d FROM outbox WHERE delivered_at IS NOT NULL').get() as { n: number; d: number };
    expect(rows.n).toBe(rows.d);
    expect(rows.n).toBeGreaterThanOrEqual(delivered.size);
    expect(agent.verifyAudit().ok).toBe(true);
    agent.close();
  });
});
