import Database from 'better-sqlite3';
import { migrate } from '../../src/migrations/index.js';

/** Every schema object but SQLite's own, as `type name: sql`, to compare schemas. */
export function schemaOf(db: Database.Database): string[] {
  return (db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as Array<{ type: string; name: string; sql: string }>).map((r) => `${r.type} ${r.name}: ${r.sql}`);
}

export function columnsOf(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info("${table}")`) as Array<{ name: string }>).map((c) => c.name);
}

/**
 * Every row of `table` (rowid order) as one line of SQL literals (quote(): type and every byte of text and blobs),
 * rowid first, limited to `columns` when given, so rows can be compared byte for byte across a migration.
 */
export function dumpRows(db: Database.Database, table: string, columns: string[] = columnsOf(db, table)): string[] {
  const values = ['rowid', ...columns].map((c) => `quote("${c}")`).join(" || ' | ' || ");
  return db.prepare(`SELECT ${values} AS line FROM "${table}" ORDER BY rowid`).pluck().all() as string[];
}

/** Deterministic bytes standing for a sealed field: the migrations never read them, only byte identity matters. */
const bytes = (seed: number, length: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff));

/**
 * Builds a database at an older version the way that software version left it (its migrations through the real
 * runner), with rows in it: one transaction per status of that time, sealed-field stand-ins, outbox rows pending,
 * delivered, dead-lettered and (version 3) leased, a redacted row, and an audit entry (version 2 on).
 */
export function databaseAt(path: string, version: number): void {
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  migrate(db, version);
  if (version >= 1) {
    const tx = db.prepare('INSERT INTO transactions (id, seq, kind, status, verdict, citizen_hmac, personal, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    tx.run('old-1', 1, 'identity-verification', 'completed', '{"chip":"genuine"}', null, null, 1);
    tx.run('old-2', 2, 'public-service-submission', 'rejected', '{"chip":"invalid","score":0.25}', bytes(2, 32), bytes(2, 90), 1_000);
    tx.run('old-3', 3, 'hospital-registration', 'failed', '{"reason":"reader removed","retry":true}', bytes(3, 32), bytes(3, 120), 2_000);
    tx.run('old-4', 4, 'notary-verification', 'cancelled', '{"note":"Hủy bởi người dân"}', bytes(4, 32), bytes(4, 70), 3_000);
    const ob = db.prepare(
      'INSERT INTO outbox (transaction_id, upstream, idempotency_key, aggregate, aggregate_seq, payload, attempts, next_attempt_at, last_error, dead_letter, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    ob.run('old-1', 'population', 'old-1/population', 'population', 1, null, 0, 1, null, 0, null);
    ob.run('old-2', 'dvc', 'old-2/dvc', 'dvc', 1, null, 1, 1_000, null, 0, 1_500);
    ob.run('old-3', 'dvc', 'old-3/dvc', 'dvc', 2, bytes(5, 64), 5, 2_000, 'upstream 503', 1, null);
    ob.run('old-3', 'his', 'old-3/his', 'his', 1, bytes(6, 64), 2, 2_500, 'timeout', 0, null);
  }
  if (version >= 2) {
    db.prepare("INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (1, 1, 'kiosk', 'transaction.recorded', 'old-1', '{}', ?, ?)").run(Buffer.alloc(32), bytes(7, 32));
  }
  if (version >= 3) {
    db.exec("UPDATE transactions SET redacted_at = 3500, personal = NULL, citizen_hmac = NULL WHERE id = 'old-4'; UPDATE outbox SET claimed_until = 9000 WHERE idempotency_key = 'old-3/his';");
  }
  db.close();
}
