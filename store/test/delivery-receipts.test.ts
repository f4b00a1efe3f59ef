import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransactionStore } from '@kiosk/store';
import { PERSONA_A, PERSONA_B, codeOf, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

const DAY = 86_400_000;
let dir: ReturnType<typeof tempStoreDir>;
let store: TransactionStore;
let clock: number;

beforeEach(() => {
  dir = tempStoreDir();
  clock = Date.UTC(2026, 0, 5, 8, 0, 0);
  store = openTempStore(dir, { now: () => clock });
});
afterEach(() => {
  store.close();
  dir.cleanup();
});

const payloadKept = (id: number): boolean => (store.db.prepare('SELECT payload IS NOT NULL AS kept FROM outbox WHERE id = ?').get(id) as { kept: number }).kept === 1;

describe('receipts', () => {
  it('keeps the upstream receipt of a delivered batch and shows each delivery of a transaction', () => {
    const a = store.recordTransaction(submission(PERSONA_A));
    const due = store.claimDue({ limit: 10 });
    const dvc = due.find((d) => d.upstream === 'dvc')!;
    store.markDeliveredBatch([dvc.id], new Map([[dvc.id, 'HS-2026-000123']]));
    expect(store.deliveriesOf(a.id)).toEqual([
      { id: dvc.id, upstream: 'dvc', state: 'delivered', receipt: 'HS-2026-000123', attempts: 1, deliveredAt: clock },
      { id: dvc.id + 1, upstream: 'population', state: 'pending', receipt: null, attempts: 0, deliveredAt: null },
    ]);
    expect(store.deliveriesOf('no-such-transaction')).toEqual([]);
  });

  it('refuses a receipt that is free text or carries an ID number, and marks nothing of that batch', () => {
    store.recordTransaction(submission(PERSONA_A, ['dvc']));
    const [d] = store.claimDue();
    for (const receipt of ['', 'tracking code with spaces', `HS-${PERSONA_A.idNumber}`, 'x'.repeat(129), '-leading-dash']) {
      expect(codeOf(() => store.markDeliveredBatch([d!.id], new Map([[d!.id, receipt]])))).toBe('STORE_FIELD_REJECTED');
    }
    expect(store.deliveriesOf(d!.transactionId)[0]?.state).toBe('pending');
  });
});

describe('reconciliation with an upstream that lost deliveries', () => {
  it('walks delivered keys per upstream in id order and requeues the lost ones with the same key, audited', () => {
    const recs = [store.recordTransaction(submission(PERSONA_A, ['dvc'])), store.recordTransaction(submission(PERSONA_B, ['dvc'])), store.recordTransaction(submission(PERSONA_A, ['population']))];
    // One aggregate: each round hands out its next delivery per upstream.
    for (let due = store.claimDue({ limit: 10 }); due.length > 0; due = store.claimDue({ limit: 10 })) store.markDeliveredBatch(due.map((d) => d.id));
    const dvcKeys = store.deliveredKeys({ upstream: 'dvc' });
    expect(dvcKeys.map((k) => k.idempotencyKey)).toEqual([`${recs[0]!.id}/dvc`, `${recs[1]!.id}/dvc`]);
    expect(store.deliveredKeys({ upstream: 'dvc', afterId: dvcKeys[0]!.id })).toEqual([dvcKeys[1]]);
    expect(store.deliveredKeys({ upstream: 'dvc', limit: 1 })).toEqual([dvcKeys[0]]);

    const result = store.requeueDelivered([dvcKeys[1]!.id], 'upstream no longer holds it (restored from backup)');
    expect(result).toEqual({ requeued: [dvcKeys[1]!.id], erased: [], notDelivered: [] });
    const again = store.claimDue();
    expect(again.map((d) => [d.id, d.idempotencyKey, d.payload.citizenId])).toEqual([[dvcKeys[1]!.id, `${recs[1]!.id}/dvc`, PERSONA_B.idNumber]]);
    // Requeueing what is pending changes nothing.
    expect(store.requeueDelivered([dvcKeys[1]!.id], 'again')).toEqual({ requeued: [], erased: [], notDelivered: [dvcKeys[1]!.id] });
    expect(codeOf(() => store.requeueDelivered([999_999], 'x'))).toBe('STORE_NOT_FOUND');
    const actions = (store.db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all() as string[]).filter((a) => a === 'delivery.requeued');
    expect(actions).toHaveLength(1);
    expect(store.verifyAudit().ok).toBe(true);
  });

  it('erases delivered payloads with the retention purge, after which a lost delivery is reported, not resent', () => {
    store.recordTransaction(submission(PERSONA_A, ['dvc']));
    const [d] = store.claimDue();
    store.markDeliveredBatch([d!.id]);
    clock += 2 * DAY;
    store.purgeExpired(3);
    expect(payloadKept(d!.id)).toBe(true);
    clock += 2 * DAY;
    store.purgeExpired(3);
    expect(payloadKept(d!.id)).toBe(false);
    expect(store.requeueDelivered([d!.id], 'lost')).toEqual({ requeued: [], erased: [d!.id], notDelivered: [] });
  });

  it('keeps the delivered payloads of a transaction while one of its deliveries is still pending', () => {
    store.recordTransaction(submission(PERSONA_A, ['dvc', 'population']));
    const dvc = store.claimDue({ upstream: 'dvc' })[0]!;
    store.markDeliveredBatch([dvc.id]);
    clock += 10 * DAY;
    store.purgeExpired(3);
    expect(payloadKept(dvc.id)).toBe(true);
  });
});
