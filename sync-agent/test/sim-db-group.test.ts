import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatorDb } from '../src/simulators/index.js';

const record = (key: string) => ({ idempotencyKey: key, deviceId: 'dev-kiosk-01', stream: 's', seq: 1, bodyHash: 'h', receivedAt: '2026-01-01T00:00:00.000Z', status: 201, receipt: {} });

describe('simulator group commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-db-group-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('deliveries arriving together commit together; one that throws rolls back alone (and is not counted); a repeat in the group sees the first', async () => {
    const path = join(dir, 'group.sqlite');
    const db = new SimulatorDb(path);
    expect(db.deviceCount('dev-kiosk-01')).toBe(0); // counted now, then kept up to date
    const results = await Promise.allSettled([
      db.transactionGrouped(() => db.insert(record('a'))),
      db.transactionGrouped(() => {
        db.insert(record('b'));
        throw new Error('refused by a rule');
      }),
      db.transactionGrouped(() => db.find('a')?.idempotencyKey ?? db.insert(record('a'))),
      db.transactionGrouped(() => db.insert(record('c'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<unknown>).value).toBe('a');
    expect(db.deviceCount('dev-kiosk-01')).toBe(2); // not the refused one, whose insert was rolled back
    db.close();
    // What another connection reads after the acknowledgements: the committed group, without the refused one.
    const reopened = new SimulatorDb(path, { readonly: true });
    expect(reopened.records().map((r) => r.idempotencyKey)).toEqual(['a', 'c']);
    reopened.close();
  });

  it('closing commits a group still waiting for its turn, so nothing queued is lost or left unanswered', async () => {
    const path = join(dir, 'close.sqlite');
    const db = new SimulatorDb(path);
    const pending = db.transactionGrouped(() => db.insert(record('x')));
    db.close();
    await expect(pending).resolves.toBe(1);
    const reopened = new SimulatorDb(path, { readonly: true });
    expect(reopened.count()).toBe(1);
    reopened.close();
  });
});
