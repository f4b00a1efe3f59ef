import type { Migration } from './migration.js';

/** Transactions, their outbox deliveries, wrapped data keys and settings. */
export const v1Initial: Migration = {
  version: 1,
  name: 'initial',
  up: (db) => {
    db.exec(`
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- Data keys, each wrapped by the device key (KeyProvider); the newest unretired one encrypts new rows.
      CREATE TABLE data_keys (
        id         INTEGER PRIMARY KEY,
        wrapped    BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      ) STRICT;

      CREATE TABLE transactions (
        id           TEXT PRIMARY KEY,
        seq          INTEGER NOT NULL UNIQUE,
        kind         TEXT NOT NULL CHECK (kind IN ('identity-verification', 'public-service-submission', 'hospital-registration', 'notary-verification')),
        status       TEXT NOT NULL CHECK (status IN ('completed', 'rejected', 'failed', 'cancelled')),
        verdict      TEXT NOT NULL CHECK (json_valid(verdict)),
        citizen_hmac BLOB,
        personal     BLOB,
        key_id       INTEGER REFERENCES data_keys(id),
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX transactions_citizen ON transactions(citizen_hmac) WHERE citizen_hmac IS NOT NULL;
      CREATE INDEX transactions_created ON transactions(created_at);

      CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        transaction_id  TEXT NOT NULL REFERENCES transactions(id),
        upstream        TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        aggregate       TEXT NOT NULL,
        aggregate_seq   INTEGER NOT NULL,
        payload         BLOB,
        key_id          INTEGER REFERENCES data_keys(id),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        dead_letter     INTEGER NOT NULL DEFAULT 0 CHECK (dead_letter IN (0, 1)),
        delivered_at    INTEGER,
        UNIQUE (aggregate, aggregate_seq)
      ) STRICT;
      CREATE INDEX outbox_transaction ON outbox(transaction_id);
    `);
  },
};
