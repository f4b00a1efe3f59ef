import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '@kiosk/store';
import { PERSONA_A, codeOf, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

let dir: ReturnType<typeof tempStoreDir>;
beforeEach(() => {
  dir = tempStoreDir();
});
afterEach(() => dir.cleanup());

function schemaOf(db: Database.Database): string[] {
  return (db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as Array<{ type: string; name: string; sql: string }>).map((r) => `${r.type} ${r.name}: ${r.sql}`);
}

/** Builds a database at an older version the way that software version would have left it, with a row in it. */
function databaseAt(path: string, version: number): void {
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    m.up(db);
    db.pragma(`user_version = ${m.version}`);
  }
  if (version >= 1) {
    db.prepare("INSERT INTO transactions (id, seq, kind, status, verdict, created_at) VALUES ('old-1', 1, 'identity-verification', 'completed', '{\"chip\":\"genuine\"}', 1)").run();
    db.prepare("INSERT INTO outbox (transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, next_attempt_at) VALUES ('old-1', 'population', 'old-1/population', 'population', 1, 1)").run();
  }
  db.close();
}

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
          // The old pending delivery (no payload, written before encryption fields mattered) is still due.
          expect(store.db.prepare('SELECT aggregate_seq FROM outbox').all()).toEqual([{ aggregate_seq: 1 }]);
        }
        const rec = store.recordTransaction(submission(PERSONA_A, ['population']));
        expect(rec.deliveries[0]!.aggregateSeq).toBe(from >= 1 ? 2 : 1);
        expect(store.integrityCheck()).toEqual(['ok']);
      } finally {
        store.close();
      }
    });
  }

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
