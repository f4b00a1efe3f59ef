import type { Migration } from './migration.js';

/**
 * The pending deliveries of each (aggregate, upstream) in sequence order, for `claimDue`'s "is an older one still
 * pending?" probe. Without it the probe walked the aggregate's whole history (delivered rows included) through the
 * UNIQUE (aggregate, aggregate_seq) index, which grows without bound for a long-lived dossier. Partial: delivered and
 * dead-lettered rows leave the index, so it stays as small as the backlog.
 */
export const v5PendingHeads: Migration = {
  version: 5,
  name: 'pending deliveries per aggregate and upstream',
  up: (db) => {
    db.exec('CREATE INDEX outbox_pending_order ON outbox(aggregate, upstream, aggregate_seq) WHERE delivered_at IS NULL AND dead_letter = 0;');
  },
};
