import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '@kiosk/store';
import { columnsOf, databaseAt, dumpRows, schemaOf } from './helpers/old-database.js';
import { openTempStore, tempStoreDir } from './helpers/temp-store.js';

const CRASHER = fileURLToPath(new URL('./helpers/migration-crasher.ts', import.meta.url));

let dir: ReturnType<typeof tempStoreDir>;
beforeEach(() => {
  dir = tempStoreDir();
});
afterEach(() => dir.cleanup());

const snapshot = (db: Database.Database): { schema: string[]; rows: string[][] } => ({
  schema: schemaOf(db),
  rows: ['transactions', 'outbox', 'audit_log'].map((t) => dumpRows(db, t)),
});

describe('migration 004 killed mid-way (SIGKILL)', () => {
  // After the new table exists, after the old one was dropped and the new one renamed, after the last index came
  // back, and after user_version = 4 was set: every point of the rebuild before its commit.
  for (const killAfter of ['CREATE TABLE transactions_v4', 'DROP TABLE transactions', 'CREATE INDEX transactions_created', 'user_version = 4']) {
    it(`after "${killAfter}": the database is still version 3, unchanged, and the next start migrates it`, () => {
      databaseAt(dir.path, 3);
      const old = new Database(dir.path, { readonly: true });
      const before = snapshot(old);
      // Later migrations add columns (006: outbox.receipt): the rows are compared in the columns they had.
      const columns = ['transactions', 'outbox'].map((t) => columnsOf(old, t));
      old.close();

      const child = spawnSync(process.execPath, ['--import', 'tsx', CRASHER, dir.path, dir.keyFile, dir.signingKeyFile, killAfter], { encoding: 'utf8' });
      expect(child.stderr).toBe('');
      expect(child.signal).toBe('SIGKILL');
      expect(child.stdout).toBe('');
      expect(statSync(`${dir.path}-wal`).size).toBeGreaterThan(0); // uncommitted frames left behind

      const db = new Database(dir.path);
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(3);
        expect(snapshot(db)).toEqual(before);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('foreign_key_check')).toEqual([]);
      } finally {
        db.close();
      }

      const store = openTempStore(dir);
      try {
        expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION); // 004 and whatever follows it
        expect(['transactions', 'outbox'].map((t, i) => dumpRows(store.db, t, columns[i]))).toEqual(before.rows.slice(0, 2));
        expect(store.integrityCheck()).toEqual(['ok']);
        expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
      } finally {
        store.close();
      }
    });
  }
});
