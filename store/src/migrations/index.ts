import type Database from 'better-sqlite3';
import { KioskError } from '@kiosk/common';
import { v1Initial } from './001-initial.js';
import { v2AuditLog } from './002-audit-log.js';
import { v3LeasesAndRetention } from './003-leases-retention.js';

export interface Migration {
  version: number;
  name: string;
  /** Runs inside the migration's transaction; forward only (a device never goes back to older software). */
  up: (db: Database.Database) => void;
}

/** Every schema version in order; append a new file for a change, never edit a shipped one. */
export const MIGRATIONS: readonly Migration[] = [v1Initial, v2AuditLog, v3LeasesAndRetention];
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
      db.transaction(() => {
        m.up(db);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // Disk full or read-only during a migration keep their own codes: the fix is the disk, not the schema.
      if (code === 'SQLITE_FULL' || (typeof code === 'string' && code.startsWith('SQLITE_READONLY'))) throw err;
      throw new KioskError('STORE_MIGRATION_FAILED', `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err, details: { version: m.version } });
    }
  }
}
