import type { Migration } from './migration.js';

/**
 * The upstream's receipt for a delivered row (a dossier's tracking code, a verification id, an Encounter id), so the
 * kiosk can show it and an operator can quote it. A short reference, never personal data. The partial index walks
 * the delivered rows of one upstream in id order for the agent's reconciliation (an upstream that lost records).
 */
export const v6DeliveryReceipts: Migration = {
  version: 6,
  name: 'delivery receipts',
  up: (db) => {
    db.exec(`ALTER TABLE outbox ADD COLUMN receipt TEXT CHECK (receipt IS NULL OR length(receipt) <= 128);
      CREATE INDEX outbox_delivered_by_upstream ON outbox(upstream, id) WHERE delivered_at IS NOT NULL;`);
  },
};
