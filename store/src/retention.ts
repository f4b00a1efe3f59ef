import { KioskError } from '@kiosk/common';
import { audit, type StoreContext } from './context.js';
import { writeTransaction, sql } from './database.js';
import { clearText } from './field-guard.js';
import { payloadAad, personalAad } from './transactions.js';

const DAY_MS = 86_400_000;

/**
 * Erases the personal fields (and the citizen hash) of transactions whose deliveries all succeeded at least
 * `retentionDays` ago (or, with no deliveries, that were created that long ago). Transactions with a pending or
 * dead-lettered delivery keep theirs until it is resolved. Returns the number of transactions redacted.
 * The status is deliberately not a criterion: a `needs-review` row (like `rejected`, `failed`, `cancelled`, usually
 * without deliveries) is purged on the same clock, so waiting for a staff check never extends how long data is kept.
 */
export function purgeExpired(ctx: StoreContext, retentionDays: number): number {
  return writeTransaction(ctx.db, 'cannot purge expired personal data', () => {
    const now = ctx.now();
    const { changes } = sql(
      ctx.db,
        `UPDATE transactions AS t SET personal = NULL, citizen_hmac = NULL, key_id = NULL, redacted_at = @now
         WHERE t.personal IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.transaction_id = t.id AND o.delivered_at IS NULL)
           AND coalesce((SELECT max(o.delivered_at) FROM outbox o WHERE o.transaction_id = t.id), t.created_at) <= @cutoff`,
      )
      .run({ now, cutoff: now - retentionDays * DAY_MS });
    // Delivered payloads were kept so a lost delivery could be resent; they go on the same clock as the fields.
    sql(
      ctx.db,
      `UPDATE outbox AS o SET payload = NULL, key_id = NULL
       WHERE o.payload IS NOT NULL AND o.delivered_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.transaction_id = o.transaction_id AND p.delivered_at IS NULL)
         AND (SELECT max(p.delivered_at) FROM outbox p WHERE p.transaction_id = o.transaction_id) <= @cutoff`,
    ).run({ cutoff: now - retentionDays * DAY_MS });
    if (changes > 0) audit(ctx, { actor: 'kiosk', action: 'retention.purged', detail: { transactions: changes, retentionDays } }, now);
    return changes;
  });
}

export interface EraseResult {
  transactions: number;
  /** Undelivered deliveries whose payload was erased; they are dead-lettered and will not be sent. */
  cancelledDeliveries: number;
}

/**
 * A data-subject request: erases every personal field of one citizen's transactions (found by the keyed hash), the
 * payloads of their deliveries, and records the erasure (request reference and counts, no ID) in the audit log.
 */
export function eraseCitizen(ctx: StoreContext, idNumber: string, requestRef: string): EraseResult {
  if (!/^[A-Za-z0-9._/-]{1,64}$/.test(requestRef) || clearText(requestRef) !== requestRef) {
    throw new KioskError('STORE_FIELD_REJECTED', 'the request reference is a short case number (letters, digits, . _ / -) and not an ID number');
  }
  const hash = ctx.keyring.citizenHash(idNumber);
  return writeTransaction(ctx.db, 'cannot erase the citizen', () => {
    const now = ctx.now();
    const ids = (sql(ctx.db, 'SELECT id FROM transactions WHERE citizen_hmac = ?').all(hash) as Array<{ id: string }>).map((r) => r.id);
    let cancelled = 0;
    const cancel = sql(ctx.db, "UPDATE outbox SET payload = NULL, key_id = NULL, dead_letter = 1, last_error = 'erased by data-subject request', claimed_until = NULL WHERE transaction_id = ? AND delivered_at IS NULL");
    const clearDelivered = sql(ctx.db, 'UPDATE outbox SET payload = NULL, key_id = NULL WHERE transaction_id = ? AND payload IS NOT NULL');
    const erase = sql(ctx.db, 'UPDATE transactions SET personal = NULL, citizen_hmac = NULL, key_id = NULL, redacted_at = ? WHERE id = ?');
    for (const id of ids) {
      cancelled += cancel.run(id).changes;
      clearDelivered.run(id);
      erase.run(now, id);
    }
    audit(ctx, { actor: 'operator', action: 'citizen.erased', subject: requestRef, detail: { transactions: ids.length, cancelledDeliveries: cancelled } }, now);
    return { transactions: ids.length, cancelledDeliveries: cancelled };
  });
}

/** Starts a data-key rotation: new rows use a new data key at once; old rows stay readable until re-encrypted. */
export function rotateDataKey(ctx: StoreContext): number {
  return writeTransaction(ctx.db, 'cannot rotate the data key', () => {
    const now = ctx.now();
    const id = ctx.keyring.addDataKey(now);
    audit(ctx, { actor: 'kiosk', action: 'key.rotated', detail: { dataKey: id } }, now);
    return id;
  });
}

/**
 * Re-encrypts up to `batch` fields still under an older data key with the current one, in one short write
 * transaction (the kiosk keeps recording in between). When none are left, the old wrapped keys are deleted.
 * Returns how many fields were re-encrypted; 0 means the rotation is complete.
 */
export function reencryptBatch(ctx: StoreContext, batch = 500): number {
  return writeTransaction(ctx.db, 'cannot re-encrypt', () => {
    const current = ctx.keyring.current();
    const tx = sql(ctx.db, 'SELECT id, personal FROM transactions WHERE key_id IS NOT NULL AND key_id <> ? LIMIT ?').all(current.id, batch) as Array<{ id: string; personal: Buffer }>;
    const updateTx = sql(ctx.db, 'UPDATE transactions SET personal = ?, key_id = ? WHERE id = ?');
    for (const r of tx) {
      const aad = personalAad(r.id);
      updateTx.run(ctx.keyring.seal(ctx.keyring.open(r.personal, aad), aad, current).sealed, current.id, r.id);
    }
    const ob = sql(ctx.db, 'SELECT id, idempotency_key, payload FROM outbox WHERE key_id IS NOT NULL AND key_id <> ? LIMIT ?').all(current.id, batch - tx.length) as Array<{ id: number; idempotency_key: string; payload: Buffer }>;
    const updateOb = sql(ctx.db, 'UPDATE outbox SET payload = ?, key_id = ? WHERE id = ?');
    for (const r of ob) {
      const aad = payloadAad(r.idempotency_key);
      updateOb.run(ctx.keyring.seal(ctx.keyring.open(r.payload, aad), aad, current).sealed, current.id, r.id);
    }
    const done = tx.length + ob.length;
    if (done === 0) {
      const { changes } = sql(ctx.db, 'DELETE FROM data_keys WHERE id <> ? AND id NOT IN (SELECT key_id FROM transactions WHERE key_id IS NOT NULL UNION SELECT key_id FROM outbox WHERE key_id IS NOT NULL)').run(current.id);
      if (changes > 0) audit(ctx, { actor: 'kiosk', action: 'key.retired', detail: { dataKeys: changes } }, ctx.now());
    }
    return done;
  });
}
