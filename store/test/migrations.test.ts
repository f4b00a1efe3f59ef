import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '@kiosk/store';
import { migrate } from '../src/migrations/index.js';
import { columnsOf, databaseAt, dumpRows, schemaOf } from './helpers/old-database.js';
import { PERSONA_A, codeOf, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

let dir: ReturnType<typeof tempStoreDir>;
beforeEach(() => {
  dir = tempStoreDir();
});
afterEach(() => dir.cleanup());

describe('migrations', () => {
  it('are numbered 1..N without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  const fresh = (): string[] => {
    const d = tempStoreDir();
    try {
      const s = openTempStore(d);
      const schema = schemaOf(s.db);
      s.close();
      return schema;
    } finally {
      d.cleanup();
    }
  };

  for (let from = 0; from < SCHEMA_VERSION; from++) {
    it(`run at start-up from version ${from} to ${SCHEMA_VERSION}, keep the data and give the fresh schema`, () => {
      databaseAt(dir.path, from);
      const store = openTempStore(dir);
      try {
        expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        expect(schemaOf(store.db)).toEqual(fresh());
        expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
        expect(store.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
        if (from >= 1) {
          expect(store.getTransaction('old-1')?.verdict).toEqual({ chip: 'genuine' });
          // The old deliveries keep their aggregate sequences.
          expect(store.db.prepare("SELECT aggregate_seq FROM outbox WHERE aggregate = 'population'").all()).toEqual([{ aggregate_seq: 1 }]);
        }
        const rec = store.recordTransaction(submission(PERSONA_A, ['population']));
        expect(rec.deliveries[0]!.aggregateSeq).toBe(from >= 1 ? 2 : 1);
        expect(store.integrityCheck()).toEqual(['ok']);
      } finally {
        store.close();
      }
    });
  }

  /** The SQLite error code `fn` throws (better-sqlite3 SqliteError.code), or undefined when it does not throw. */
  const sqliteCode = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
    return undefined;
  };
  const TRANSACTIONS_INDEXES = ['sqlite_autoindex_transactions_1', 'sqlite_autoindex_transactions_2', 'transactions_citizen', 'transactions_created'];
  const TRIGGERS = ['audit_checkpoints_no_delete', 'audit_checkpoints_no_update', 'audit_log_no_delete', 'audit_log_no_update'];
  const names = (db: Database.Database, where: string): string[] => db.prepare(`SELECT name FROM sqlite_master WHERE ${where} ORDER BY name`).pluck().all() as string[];

  for (let from = 1; from < 4; from++) {
    it(`004 (needs-review) from version ${from}: rows byte-identical, foreign keys enforced, indexes and triggers back`, () => {
      databaseAt(dir.path, from);
      const old = new Database(dir.path, { readonly: true });
      const tables = ['transactions', 'outbox', ...(from >= 2 ? ['audit_log'] : [])];
      const before = Object.fromEntries(tables.map((t) => [t, { columns: columnsOf(old, t), rows: dumpRows(old, t) }]));
      const schemaBefore = schemaOf(old);
      old.close();
      expect(before.transactions!.rows).toHaveLength(4);
      expect(before.outbox!.rows).toHaveLength(4);

      const store = openTempStore(dir);
      try {
        const db = store.db;
        expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        // Same rows, same rowids, same bytes, in the columns they had; audit_log may gain entries, not change them.
        for (const t of tables) {
          const after = dumpRows(db, t, before[t]!.columns);
          expect(t === 'audit_log' ? after.slice(0, before[t]!.rows.length) : after, t).toEqual(before[t]!.rows);
        }
        if (from < 3) expect(db.prepare('SELECT count(*) FROM transactions WHERE redacted_at IS NOT NULL').pluck().get()).toBe(0);
        // Every object that existed before is unchanged, except the rebuilt table (and outbox, which 003 and 006 alter).
        const changed = (line: string): boolean => line.startsWith('table transactions:') || line.startsWith('table outbox:');
        const schemaAfter = schemaOf(db);
        for (const line of schemaBefore.filter((l) => !changed(l))) expect(schemaAfter).toContain(line);
        const table = schemaAfter.find((l) => l.startsWith('table transactions:'))!;
        expect(table).toContain("CHECK (status IN ('completed', 'needs-review', 'rejected', 'failed', 'cancelled'))");
        expect(schemaAfter.find((l) => l.startsWith('table outbox:'))).toContain('REFERENCES transactions(id)');
        expect(names(db, "type = 'table'")).not.toContain('transactions_v4');

        expect(names(db, "type = 'index' AND tbl_name = 'transactions'")).toEqual(TRANSACTIONS_INDEXES);
        expect(names(db, "type = 'trigger'")).toEqual(TRIGGERS);
        const plan = db.prepare('EXPLAIN QUERY PLAN SELECT id FROM transactions WHERE citizen_hmac = ?').all(Buffer.alloc(32)) as Array<{ detail: string }>;
        expect(plan.map((p) => p.detail).join('\n')).toContain('transactions_citizen');

        expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
        expect(db.pragma('foreign_key_check')).toEqual([]);
        expect(store.integrityCheck()).toEqual(['ok']);
        // Foreign keys still enforced on both sides of the rebuilt table.
        const orphan = "INSERT INTO outbox (transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, next_attempt_at) VALUES ('missing', 'dvc', 'missing/dvc', 'dvc', 99, 1)";
        expect(sqliteCode(() => db.exec(orphan))).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
        expect(sqliteCode(() => db.exec("DELETE FROM transactions WHERE id = 'old-3'"))).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
        expect(sqliteCode(() => db.exec("INSERT INTO transactions (id, seq, kind, status, verdict, key_id, created_at) VALUES ('k', 99, 'identity-verification', 'completed', '{}', 999, 1)"))).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
        expect(sqliteCode(() => db.exec("INSERT INTO transactions (id, seq, kind, status, verdict, created_at) VALUES ('s', 99, 'identity-verification', 'pending', '{}', 1)"))).toBe('SQLITE_CONSTRAINT_CHECK');
        expect(sqliteCode(() => db.exec("INSERT INTO transactions (id, seq, kind, status, verdict, created_at) VALUES ('d', 1, 'identity-verification', 'completed', '{}', 1)"))).toBe('SQLITE_CONSTRAINT_UNIQUE');

        const rec = store.recordTransaction({ ...submission(PERSONA_A, ['population']), kind: 'identity-verification', status: 'needs-review', verdict: { decision: 'needs-review', reasons: 'no clone detection' } });
        expect(store.getTransaction(rec.id)).toMatchObject({ seq: 5, status: 'needs-review', citizen: { idNumber: PERSONA_A.idNumber } });
        expect(rec.deliveries[0]!.aggregateSeq).toBe(2);
        expect(store.getTransaction('old-1')).toMatchObject({ status: 'completed', verdict: { chip: 'genuine' } });
        // The audit triggers still refuse rewriting history (the recording above appended an entry in every case).
        expect(sqliteCode(() => db.exec("UPDATE audit_log SET actor = 'x'"))).toBe('SQLITE_CONSTRAINT_TRIGGER');
        expect(sqliteCode(() => db.exec('DELETE FROM audit_log'))).toBe('SQLITE_CONSTRAINT_TRIGGER');
      } finally {
        store.close();
      }
    });
  }

  it('004 refuses to commit a rebuild that breaks a foreign key: version 3 stays as it was, enforcement back on', () => {
    databaseAt(dir.path, 3);
    const db = new Database(dir.path);
    // An orphan delivery that could only exist by writing with enforcement off: the rebuild must not bless it.
    db.pragma('foreign_keys = OFF');
    db.exec("INSERT INTO outbox (transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, next_attempt_at) VALUES ('gone', 'dvc', 'gone/dvc', 'dvc', 3, 1)");
    db.pragma('foreign_keys = ON');
    const schemaBefore = schemaOf(db);
    const rowsBefore = [dumpRows(db, 'transactions'), dumpRows(db, 'outbox')];
    let error: unknown;
    try {
      migrate(db);
    } catch (err) {
      error = err;
    }
    expect(codeOf(() => {
      throw error;
    })).toBe('STORE_MIGRATION_FAILED');
    expect((error as Error).message).toContain('foreign key violation');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.inTransaction).toBe(false);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect(schemaOf(db)).toEqual(schemaBefore); // old CHECK, no transactions_v4, indexes as they were
    expect([dumpRows(db, 'transactions'), dumpRows(db, 'outbox')]).toEqual(rowsBefore);
    db.close();
  });

  it('refuse a database from newer software (STORE_MIGRATION_FAILED)', () => {
    const db = new Database(dir.path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(codeOf(() => openTempStore(dir).close())).toBe('STORE_MIGRATION_FAILED');
  });

  it('a failing migration leaves the database at the last completed version (STORE_MIGRATION_FAILED)', () => {
    databaseAt(dir.path, 1);
    const db = new Database(dir.path);
    db.exec('CREATE TABLE audit_log (x INTEGER)'); // collides with migration 2
    db.close();
    expect(codeOf(() => openTempStore(dir).close())).toBe('STORE_MIGRATION_FAILED');
    const after = new Database(dir.path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(1);
    after.close();
  });
});
