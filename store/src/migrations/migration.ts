import type Database from 'better-sqlite3';

/** One schema version: each migration file exports one, and migrations/index.ts lists them in order. */
export interface Migration {
  version: number;
  name: string;
  /**
   * Rebuilds a table that others reference (SQLite's procedure for schema changes ALTER TABLE cannot make): foreign
   * key enforcement is off around this migration's transaction, since DROP TABLE of a referenced table would
   * otherwise fail and PRAGMA foreign_keys is ignored inside a transaction. `PRAGMA foreign_key_check` must be empty
   * before it commits, and enforcement is back on afterwards whether it committed or not.
   */
  foreignKeysOff?: boolean;
  /** Runs inside the migration's transaction; forward only (a device never goes back to older software). */
  up: (db: Database.Database) => void;
}
