import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '@kiosk/store';
import { PERSONA_A, PERSONA_B, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

const BIN = fileURLToPath(new URL('../bin/kiosk-store.js', import.meta.url));
const dir = tempStoreDir();
let since: string;

function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  // An empty config environment: the CLI must take its paths from the flags, not from the developer's machine.
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, env: { PATH: process.env.PATH ?? '', KIOSK_CONFIG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const keys = (): string[] => ['--db', dir.path, '--key-file', dir.keyFile, '--signing-key-file', dir.signingKeyFile];

beforeAll(() => {
  let clock = Date.UTC(2026, 2, 1, 9, 0, 0);
  const store = openTempStore(dir, { checkpointEvery: 3, now: () => clock });
  store.recordTransaction(submission(PERSONA_A));
  clock += 86_400_000;
  since = new Date(clock).toISOString().slice(0, 10);
  store.recordTransaction(submission(PERSONA_B, ['his']));
  store.recordTransaction(submission(PERSONA_A, ['dvc']));
  store.close();
});
afterAll(() => dir.cleanup());

describe('kiosk-store CLI', () => {
  it('--help lists every command; no command is a usage error; unknown ones too', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['stats', 'audit verify', 'export --since', 'erase --citizen']) expect(help.stdout).toContain(`kiosk-store ${c}`);
    expect(cli([]).code).toBe(2);
    expect(cli(['frobnicate']).code).toBe(2);
    expect(cli(['export', '--db', dir.path]).code).toBe(2);
    expect(cli(['export', '--db', dir.path, '--since', 'yesterday']).stderr).toContain('[USAGE]');
  });

  it('stats --json counts transactions and outbox rows', () => {
    const r = cli(['stats', '--json', '--db', dir.path]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { transactions: Record<string, number>; outbox: { pending: number }; withPersonalData: number };
    expect(s.transactions['public-service-submission/completed']).toBe(3);
    expect(s.outbox.pending).toBe(4);
    expect(s.withPersonalData).toBe(3);
  });

  it('export --since writes redacted JSON lines only for the later transactions, without personal data', () => {
    const r = cli(['export', '--db', dir.path, '--since', since]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    expect(lines.map((l) => l.seq)).toEqual([2, 3]);
    for (const s of [PERSONA_A.fullName, PERSONA_A.idNumber, PERSONA_B.fullName, PERSONA_B.idNumber]) expect(r.stdout).not.toContain(s);
  });

  it('erase --citizen (ID from stdin) erases one citizen and the audit chain still verifies', () => {
    const r = cli(['erase', '--citizen', '-', '--request', 'DSR-7', '--json', ...keys()], `${PERSONA_A.idNumber}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ transactions: 2, cancelledDeliveries: 3 });
    const s = JSON.parse(cli(['stats', '--json', '--db', dir.path]).stdout) as { withPersonalData: number };
    expect(s.withPersonalData).toBe(1);
    expect(cli(['erase', '--citizen', '12ab', ...keys()]).code).toBe(2);
    const verify = cli(['audit', 'verify', '--db', dir.path, '--signing-key-file', dir.signingKeyFile]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('chain ok');
  });

  it('audit verify exits 1 with STORE_AUDIT_BROKEN for an edited row, and catches truncation with the upstream checkpoints', () => {
    const checkpoints = join(dir.dir, 'upstream-checkpoints.json');
    const store = openTempStore(dir);
    writeFileSync(checkpoints, JSON.stringify(store.checkpoints()));
    store.close();
    const db = new Database(dir.path);
    db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_checkpoints_no_delete; UPDATE audit_log SET actor = 'nobody' WHERE seq = 2;");
    db.close();
    const edited = cli(['audit', 'verify', '--json', '--db', dir.path, '--signing-key-file', dir.signingKeyFile]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain('[STORE_AUDIT_BROKEN]');
    expect((JSON.parse(edited.stdout) as { problems: Array<{ seq: number; problem: string }> }).problems).toContainEqual(expect.objectContaining({ seq: 2, problem: 'edited' }));
    const cut = new Database(dir.path);
    cut.exec('DELETE FROM audit_log WHERE seq > 3; DELETE FROM audit_checkpoints;');
    cut.close();
    const truncated = cli(['audit', 'verify', '--db', dir.path, '--signing-key-file', dir.signingKeyFile, '--checkpoints', checkpoints]);
    expect(truncated.code).toBe(1);
    expect(truncated.stdout).toContain('truncated');
  });

  it('stats shows every status, needs-review included, in text and JSON', () => {
    const other = tempStoreDir();
    try {
      const store = openTempStore(other);
      store.recordTransaction(submission(PERSONA_A, []));
      const review = { kind: 'identity-verification', status: 'needs-review', verdict: { decision: 'needs-review', reasons: 'no clone detection' }, deliveries: [] } as const;
      store.recordTransaction(review);
      store.recordTransaction(review);
      store.close();
      const text = cli(['stats', '--db', other.path]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^statuses +completed 1, needs-review 2, rejected 0, failed 0, cancelled 0$/m);
      expect(text.stdout).toMatch(/^transactions +identity-verification\/needs-review: 2$/m);
      const json = JSON.parse(cli(['stats', '--json', '--db', other.path]).stdout) as { schemaVersion: number; byStatus: Record<string, number> };
      expect(json.schemaVersion).toBe(SCHEMA_VERSION);
      expect(json.byStatus).toEqual({ completed: 1, 'needs-review': 2, rejected: 0, failed: 0, cancelled: 0 });
    } finally {
      other.cleanup();
    }
  });

  it('a missing database is STORE_OPEN_FAILED, exit 1', () => {
    const r = cli(['stats', '--db', join(dir.dir, 'none.db')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[STORE_OPEN_FAILED]');
  });
});
