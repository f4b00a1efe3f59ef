import type { Migration } from './migration.js';

/** The columns of `transactions` as 001 and 003 left them, in order: copied as they are, nothing else exists. */
const COLUMNS = ['id', 'seq', 'kind', 'status', 'verdict', 'citizen_hmac', 'personal', 'key_id', 'created_at', 'redacted_at'];

/**
 * Adds the status `needs-review` (a card that verified only with warnings, to be checked by staff). SQLite cannot
 * change a CHECK constraint in place, so `transactions` is rebuilt by the procedure of
 * https://www.sqlite.org/lang_altertable.html ("Making Other Kinds Of Table Schema Changes"): new table, copy, drop
 * the old one, rename the new one to the old name (in that order, so the outbox's `REFERENCES transactions(id)` is
 * never rewritten), recreate the indexes and triggers the drop removed. Foreign keys are off around it
 * (`foreignKeysOff`) and checked before commit; a crash or error leaves version 3 as it was.
 *
 * What the drop removes: indexes and triggers ON transactions. Today these are 001's `transactions_citizen` and
 * `transactions_created` (plus the PRIMARY KEY / UNIQUE autoindexes, which come back with the table); 002's
 * triggers are on the audit tables and 003's `outbox_due` is on outbox, both untouched. They are recreated from their
 * stored SQL, as the procedure suggests, so exactly what was there comes back with the same text.
 */
export const v4NeedsReview: Migration = {
  version: 4,
  name: 'needs-review status',
  foreignKeysOff: true,
  up: (db) => {
    const columns = (db.pragma('table_info(transactions)') as Array<{ name: string }>).map((c) => c.name);
    // The copy names its columns; a column this migration does not know of would be dropped silently.
    if (columns.join(',') !== COLUMNS.join(',')) throw new Error(`unexpected transactions columns: ${columns.join(', ')}`);
    const dependents = db
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'transactions' AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name")
      .all() as Array<{ type: string; name: string; sql: string }>;
    const rows = (db.prepare('SELECT count(*) AS n FROM transactions').get() as { n: number }).n;

    db.exec(`
      CREATE TABLE transactions_v4 (
        id           TEXT PRIMARY KEY,
        seq          INTEGER NOT NULL UNIQUE,
        kind         TEXT NOT NULL CHECK (kind IN ('identity-verification', 'public-service-submission', 'hospital-registration', 'notary-verification')),
        status       TEXT NOT NULL CHECK (status IN ('completed', 'needs-review', 'rejected', 'failed', 'cancelled')),
        verdict      TEXT NOT NULL CHECK (json_valid(verdict)),
        citizen_hmac BLOB,
        personal     BLOB,
        key_id       INTEGER REFERENCES data_keys(id),
        created_at   INTEGER NOT NULL,
        redacted_at  INTEGER
      ) STRICT;
    `);
    // rowid too: the rebuilt table keeps every row's identity and order, not just its column values.
    const list = COLUMNS.join(', ');
    const copied = db.prepare(`INSERT INTO transactions_v4 (rowid, ${list}) SELECT rowid, ${list} FROM transactions ORDER BY rowid`).run().changes;
    if (copied !== rows) throw new Error(`copied ${copied} of ${rows} transactions`);
    db.exec('DROP TABLE transactions; ALTER TABLE transactions_v4 RENAME TO transactions;');
    for (const d of dependents) db.exec(d.sql);
  },
};
