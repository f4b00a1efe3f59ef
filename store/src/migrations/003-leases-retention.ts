import type { Migration } from './migration.js';

/** Outbox claim leases for the sync agent, an index for "what is due", and the redaction mark of retention. */
export const v3LeasesAndRetention: Migration = {
  version: 3,
  name: 'outbox leases and retention',
  up: (db) => {
    db.exec(`
      ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
      CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at IS NULL AND dead_letter = 0;
      ALTER TABLE transactions ADD COLUMN redacted_at INTEGER;
    `);
  },
};
