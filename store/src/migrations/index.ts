import type Database from 'better-sqlite3';
import { KioskError } from '@kiosk/common';
import { v1Initial } from './001-initial.js';
import { v2AuditLog } from './002-audit-log.js';
import { v3LeasesAndRetention } from './003-leases-retention.js';
import { v4NeedsReview } from './004-needs-review.js';
import { v5PendingHeads } from './005-pending-heads.js';
import { v6DeliveryReceipts } from './006-delivery-receipts.js';
import type { Migration } from './migration.js';

export type { Migration };

/** Every schema version in order; append a new file for a change, never edit a shipped one. */
export const MIGRATIONS: readonly Migration[] = [v1Initial, v2AuditLog, v3LeasesAndRetention, v4NeedsReview, v5PendingHeads, v6DeliveryReceipts];
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the schema from its current version (PRAGMA user_version) to `target`, one migration per transaction, so a
 * crash mid-way leaves the database at the last completed version and the next start resumes from there.
 */
export function migrate(db: Database.Database, target: number = SCHEMA_VERSION): void {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new KioskError('STORE_MIGRATION_FAILED', `database schema version ${current} is newer than this software (${SCHEMA_VERSION})`, { details: { current, supported: SCHEMA_VERSION } });
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    try {
      const apply = (): void =>
        db.transaction(() => {
          // The kiosk service and the sync agent may start together after an update: whoever waited for the write
          // lock finds the migration already applied and must not run it twice.
          if (schemaVersion(db) >= m.version) return;
          m.up(db);
          if (m.foreignKeysOff) assertNoForeignKeyViolations(db);
          db.pragma(`user_version = ${m.version}`);
        }).immediate();
      if (m.foreignKeysOff) withForeignKeysOff(db, apply);
      else apply();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // Disk full or read-only during a migration keep their own codes: the fix is the disk, not the schema.
      if (code === 'SQLITE_FULL' || (typeof code === 'string' && code.startsWith('SQLITE_READONLY'))) throw err;
      throw new KioskError('STORE_MIGRATION_FAILED', `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err, details: { version: m.version } });
    }
  }
}

/** Runs `fn` with foreign key enforcement off on this connection, restoring the previous setting afterwards. */
function withForeignKeysOff(db: Database.Database, fn: () => void): void {
  // Inside an open transaction the pragma would silently do nothing and the rebuild would run with enforcement on.
  if (db.inTransaction) throw new Error('a migration with foreign keys off cannot run inside an open transaction');
  const before = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    if (db.pragma('foreign_keys', { simple: true }) !== 0) throw new Error('foreign key enforcement could not be switched off');
    fn();
  } finally {
    db.pragma(`foreign_keys = ${before ? 'ON' : 'OFF'}`);
  }
}

/** Step 10 of SQLite's procedure: the rebuilt tables must still satisfy every foreign key, or nothing commits. */
function assertNoForeignKeyViolations(db: Database.Database): void {
  const violations = db.pragma('foreign_key_check') as Array<{ table: string; rowid: number | null; parent: string; fkid: number }>;
  if (violations.length > 0) {
    const first = violations[0]!;
    throw new Error(`${violations.length} foreign key violation(s), e.g. ${first.table} rowid ${String(first.rowid)} -> ${first.parent}`);
  }
}
