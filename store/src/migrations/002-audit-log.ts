import type { Migration } from './migration.js';

/**
 * The append-only, hash-chained audit log and its signed checkpoints. Triggers refuse UPDATE and DELETE, so the
 * application cannot rewrite history; someone with the raw file can, and the chain plus the checkpoints sent
 * upstream make that visible.
 */
export const v2AuditLog: Migration = {
  version: 2,
  name: 'audit log',
  up: (db) => {
    db.exec(`
      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        subject   TEXT,
        detail    TEXT NOT NULL CHECK (json_valid(detail)),
        prev_hash BLOB NOT NULL,
        hash      BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

      CREATE TABLE audit_checkpoints (
        audit_seq  INTEGER PRIMARY KEY,
        head_hash  BLOB NOT NULL,
        at         INTEGER NOT NULL,
        public_key TEXT NOT NULL,
        signature  BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
      CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
    `);
  },
};
