import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransactionStore } from '@kiosk/store';
import { PERSONA_A, PERSONA_B, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

let dir: ReturnType<typeof tempStoreDir>;
let store: TransactionStore;

beforeEach(() => {
  dir = tempStoreDir();
  store = openTempStore(dir, { checkpointEvery: 5 });
  for (let i = 0; i < 12; i++) store.recordTransaction(submission(i % 2 ? PERSONA_A : PERSONA_B));
});
afterEach(() => {
  store.close();
  dir.cleanup();
});

/** What an attacker with the raw file can do: drop the append-only triggers, then rewrite. */
function tamper(sql: string): void {
  store.db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  store.db.exec(sql);
}

describe('audit log', () => {
  it('is append-only for the application: UPDATE and DELETE are refused by triggers', () => {
    expect(() => store.db.exec("UPDATE audit_log SET action = 'x' WHERE seq = 1")).toThrow('append-only');
    expect(() => store.db.exec('DELETE FROM audit_log WHERE seq = 1')).toThrow('append-only');
    expect(() => store.db.exec('DELETE FROM audit_checkpoints')).toThrow('append-only');
  });

  it('verifies a clean chain with checkpoints signed every 5 entries', () => {
    const report = store.verifyAudit();
    expect(report).toMatchObject({ ok: true, entries: 12, headSeq: 12, checkpoints: 2, lastCheckpointSeq: 10, problems: [] });
  });

  it('detects an edited row', () => {
    tamper(`UPDATE audit_log SET detail = '{"kind":"identity-verification","status":"completed","deliveries":0}' WHERE seq = 3`);
    const report = store.verifyAudit();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.seq, p.problem])).toContainEqual([3, 'edited']);
  });

  it('detects a deleted row', () => {
    tamper('DELETE FROM audit_log WHERE seq = 7');
    const report = store.verifyAudit();
    expect(report.problems.map((p) => [p.seq, p.problem])).toContainEqual([7, 'deleted']);
  });

  it('detects a deleted row even when the attacker renumbered and re-hashed the rest of the chain (signed checkpoint)', () => {
    tamper('DELETE FROM audit_log WHERE seq = 4');
    type Row = { seq: number; at: number; actor: string; action: string; subject: string | null; detail: string };
    const rows = store.db.prepare('SELECT seq, at, actor, action, subject, detail FROM audit_log WHERE seq > 4 ORDER BY seq').all() as Row[];
    let prev = (store.db.prepare('SELECT hash FROM audit_log WHERE seq = 3').get() as { hash: Buffer }).hash;
    store.db.exec('DELETE FROM audit_log WHERE seq > 4');
    for (const r of rows) {
      const seq = r.seq - 1;
      const hash = createHash('sha256').update(prev).update(JSON.stringify([seq, r.at, r.actor, r.action, r.subject, r.detail])).digest();
      store.db.prepare('INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(seq, r.at, r.actor, r.action, r.subject, r.detail, prev, hash);
      prev = hash;
    }
    const problems = store.verifyAudit().problems;
    expect(problems.filter((p) => p.problem === 'edited' || p.problem === 'deleted')).toEqual([]); // the chain itself is consistent
    expect(problems.map((p) => [p.seq, p.problem])).toEqual([
      [5, 'checkpoint-mismatch'],
      [10, 'checkpoint-mismatch'],
    ]);
  });

  it('detects truncation relative to the last signed checkpoint', () => {
    tamper('DELETE FROM audit_log WHERE seq >= 9');
    const report = store.verifyAudit();
    expect(report.problems.map((p) => [p.seq, p.problem])).toContainEqual([10, 'truncated']);
  });

  it('detects truncation with the local checkpoints removed too, against the copy sent upstream', () => {
    const upstreamCopy = store.checkpoints();
    tamper('DELETE FROM audit_log WHERE seq >= 9');
    store.db.exec('DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;');
    expect(store.verifyAudit().ok).toBe(true); // locally consistent: that is why checkpoints go upstream
    const report = store.verifyAudit({ externalCheckpoints: upstreamCopy });
    expect(report.problems.map((p) => p.problem)).toContain('truncated');
  });

  it('detects a forged checkpoint signature and a checkpoint signed by another key', () => {
    const [first] = store.checkpoints();
    const forged = { ...first!, signature: Buffer.alloc(64, 1).toString('base64') };
    expect(store.verifyAudit({ externalCheckpoints: [forged] }).problems.map((p) => p.problem)).toContain('checkpoint-signature');
    const other = tempStoreDir();
    const otherStore = openTempStore(other, { checkpointEvery: 1 });
    try {
      otherStore.recordTransaction(submission(PERSONA_A));
      const foreign = otherStore.checkpoints()[0]!;
      expect(store.verifyAudit({ externalCheckpoints: [foreign] }).problems.map((p) => p.problem)).toContain('checkpoint-untrusted-key');
    } finally {
      otherStore.close();
      other.cleanup();
    }
  });
});
