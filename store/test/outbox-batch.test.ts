import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransactionStore } from '@kiosk/store';
import { CLAIM_DUE_SQL } from '../src/outbox.js';
import { PERSONA_A, PERSONA_B, codeOf, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

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

const count = (where: string): number => store.db.prepare(`SELECT count(*) FROM outbox WHERE ${where}`).pluck().get() as number;
const auditActions = (): string[] => store.db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all() as string[];

/** n transactions of one citizen, each with a delivery to every upstream, in the dossier aggregate. */
function dossier(n: number, upstreams = ['city', 'hospital']): void {
  store.recordMany(Array.from({ length: n }, () => ({ ...submission(PERSONA_A), deliveries: upstreams.map((upstream) => ({ upstream, aggregate: 'dossier-1', payload: { n: 1 } })) })));
}

describe('batched bookkeeping', () => {
  it('marks a delivered batch in one transaction, erases payloads, audits each, and is idempotent on a resend', () => {
    dossier(1, ['city']);
    store.recordTransaction(submission(PERSONA_B, ['dvc', 'population']));
    const due = store.claimDue({ limit: 10 });
    expect(due).toHaveLength(3);
    const ids = due.map((d) => d.id);
    const before = auditActions().length;
    expect(store.markDeliveredBatch(ids)).toEqual({ marked: ids, alreadyDone: [], deadLettered: [] });
    expect(count('delivered_at IS NOT NULL AND payload IS NULL AND claimed_until IS NULL')).toBe(3);
    expect(auditActions().slice(before)).toEqual(['delivery.delivered', 'delivery.delivered', 'delivery.delivered']);
    // The relay crashed after sending and before its bookkeeping was seen: it resends and marks again.
    clock += 5_000;
    expect(store.markDeliveredBatch(ids)).toEqual({ marked: [], alreadyDone: ids, deadLettered: [] });
    expect(store.db.prepare('SELECT DISTINCT delivered_at, attempts FROM outbox').all()).toEqual([{ delivered_at: clock - 5_000, attempts: 1 }]);
    expect(auditActions().length).toBe(before + 3);
    expect(store.verifyAudit().ok).toBe(true);
  });

  it('an unknown id fails the whole batch with nothing marked; malformed or repeated ids are refused', () => {
    dossier(1);
    const ids = store.claimDue().map((d) => d.id);
    expect(codeOf(() => store.markDeliveredBatch([...ids, 9999]))).toBe('STORE_NOT_FOUND');
    expect(count('delivered_at IS NOT NULL')).toBe(0);
    expect(codeOf(() => store.markDeliveredBatch([ids[0]!, ids[0]!]))).toBe('STORE_FIELD_REJECTED');
    expect(codeOf(() => store.markDeliveredBatch([1.5]))).toBe('STORE_FIELD_REJECTED');
    expect(codeOf(() => store.markRetryBatch([0], 'x', clock))).toBe('STORE_FIELD_REJECTED');
    expect(store.markDeliveredBatch([])).toEqual({ marked: [], alreadyDone: [], deadLettered: [] });
  });

  it('a delivery erased (dead-lettered) while in flight is reported, not revived by the acknowledgement', () => {
    const rec = store.recordTransaction(submission(PERSONA_A, ['dvc']));
    const other = store.recordTransaction(submission(PERSONA_B, ['his']));
    const ids = store.claimDue().map((d) => d.id);
    store.eraseCitizen(PERSONA_A.idNumber, 'DSR-1');
    const erased = rec.deliveries[0]!.id;
    expect(store.markDeliveredBatch(ids)).toEqual({ marked: [other.deliveries[0]!.id], alreadyDone: [], deadLettered: [erased] });
    expect(store.db.prepare('SELECT dead_letter, delivered_at FROM outbox WHERE id = ?').get(erased)).toEqual({ dead_letter: 1, delivered_at: null });
  });

  it('retries a failed batch at once, leaving an already delivered one delivered; the ID in the error is scrubbed', () => {
    dossier(1);
    const [a, b] = store.claimDue().map((d) => d.id) as [number, number];
    store.markDelivered(a);
    expect(store.markRetryBatch([a, b], `HTTP 503 for ${PERSONA_A.idNumber}`, clock + 30_000)).toEqual({ marked: [b], alreadyDone: [a], deadLettered: [] });
    expect(store.db.prepare('SELECT attempts, last_error, next_attempt_at, claimed_until FROM outbox WHERE id = ?').get(b)).toEqual({ attempts: 1, last_error: 'HTTP 503 for [REDACTED]', next_attempt_at: clock + 30_000, claimed_until: null });
    expect(count('delivered_at IS NOT NULL')).toBe(1);
    expect(store.claimDue()).toEqual([]);
    clock += 30_000;
    expect(store.claimDue().map((d) => d.id)).toEqual([b]);
  });

  it('markDelivered of one delivery still refuses what is not pending', () => {
    dossier(1, ['city']);
    const [d] = store.claimDue();
    store.markDelivered(d!.id);
    expect(codeOf(() => store.markDelivered(d!.id))).toBe('STORE_NOT_FOUND');
    expect(codeOf(() => store.markDeadLetter(d!.id, 'x'))).toBe('STORE_NOT_FOUND');
    expect(codeOf(() => store.markRetry(12345, 'x', clock))).toBe('STORE_NOT_FOUND');
  });
});

describe('claimDue order', () => {
  it('per aggregate and upstream: a dossier goes in order to each upstream, and one upstream down does not hold the others', () => {
    dossier(3);
    const first = store.claimDue({ limit: 10 });
    expect(first.map((d) => [d.upstream, d.aggregateSeq])).toEqual([['city', 1], ['hospital', 2]]);
    const city = first.find((d) => d.upstream === 'city')!;
    store.markRetry(first.find((d) => d.upstream === 'hospital')!.id, 'HTTP 503', clock + 3_600_000); // hospital down
    store.markDelivered(city.id);
    expect(store.claimDue({ limit: 10 }).map((d) => [d.upstream, d.aggregateSeq])).toEqual([['city', 3]]);
  });

  it('uses the pending-order index for the older-pending probe (no scan of delivered history)', () => {
    const plan = store.db
      .prepare(`EXPLAIN QUERY PLAN ${CLAIM_DUE_SQL}`)
      .all({ now: clock, upstream: null, limit: 20 }) as Array<{ detail: string }>;
    const text = plan.map((p) => p.detail).join('\n');
    expect(text).toMatch(/SEARCH e USING INDEX outbox_pending_order \(aggregate=\? AND upstream=\? AND aggregate_seq<\?\)/);
    expect(text).not.toMatch(/SCAN e\b/);
  });
});

describe('outbox status and dead letters', () => {
  it('counts pending, in flight, delivered and dead-lettered per upstream with the oldest pending age', () => {
    store.recordTransaction(submission(PERSONA_A, ['dvc', 'population']));
    clock += 60_000;
    store.recordTransaction(submission(PERSONA_B, ['dvc', 'population']));
    clock += 60_000;
    const dvcHead = store.claimDue({ upstream: 'dvc', leaseMs: 30_000 })[0]!;
    const [pop1] = store.claimDue({ upstream: 'population', limit: 1 });
    store.markDelivered(pop1!.id);
    expect(store.outboxStatus()).toEqual({
      dvc: { pending: 2, inFlight: 1, delivered: 0, deadLettered: 0, oldestPendingAt: clock - 120_000, oldestPendingAgeMs: 120_000 },
      population: { pending: 1, inFlight: 0, delivered: 1, deadLettered: 0, oldestPendingAt: clock - 60_000, oldestPendingAgeMs: 60_000 },
    });
    store.markDeadLetter(dvcHead.id, 'HTTP 422 procedure closed');
    clock += 31_000;
    expect(store.outboxStatus().dvc).toMatchObject({ pending: 1, inFlight: 0, deadLettered: 1, oldestPendingAgeMs: 91_000 });
  });

  it('lists dead letters without payload, retries one (audited, fresh attempts, due now) and refuses erased ones', () => {
    const a = store.recordTransaction(submission(PERSONA_A, ['dvc']));
    const b = store.recordTransaction(submission(PERSONA_B, ['his']));
    for (const d of store.claimDue({ limit: 10 })) {
      store.markRetry(d.id, 'timeout', clock);
      store.markDeadLetter(d.id, `HTTP 422 for ${PERSONA_A.idNumber}`);
    }
    const letters = store.deadLetters();
    expect(letters.map((l) => [l.transactionId, l.upstream, l.attempts, l.lastError, l.retryable])).toEqual([
      [a.id, 'dvc', 2, 'HTTP 422 for [REDACTED]', true],
      [b.id, 'his', 2, 'HTTP 422 for [REDACTED]', true],
    ]);
    expect(JSON.stringify(letters)).not.toContain(PERSONA_A.fullName);
    expect(store.deadLetters({ upstream: 'his', limit: 5 }).map((l) => l.transactionId)).toEqual([b.id]);
    clock += 1_000;
    store.retryDeadLetter(letters[0]!.id);
    expect(store.db.prepare('SELECT dead_letter, attempts, next_attempt_at, last_error FROM outbox WHERE id = ?').get(letters[0]!.id)).toEqual({ dead_letter: 0, attempts: 0, next_attempt_at: clock, last_error: 'HTTP 422 for [REDACTED]' });
    expect(auditActions().at(-1)).toBe('delivery.retried');
    expect(store.claimDue().map((d) => d.id)).toEqual([letters[0]!.id]);
    expect(codeOf(() => store.retryDeadLetter(letters[0]!.id))).toBe('STORE_NOT_FOUND'); // pending again, not a dead letter
    expect(codeOf(() => store.retryDeadLetter(4242))).toBe('STORE_NOT_FOUND');
    store.eraseCitizen(PERSONA_B.idNumber, 'DSR-7');
    expect(store.deadLetters().map((l) => [l.id, l.retryable])).toEqual([[letters[1]!.id, false]]);
    expect(codeOf(() => store.retryDeadLetter(letters[1]!.id))).toBe('STORE_NOT_FOUND');
    expect(store.retryAllDeadLetters()).toBe(0);
    expect(store.verifyAudit().ok).toBe(true);
  });

  it('retries all dead letters of one upstream, or all, in one go', () => {
    store.recordMany([submission(PERSONA_A, ['dvc', 'his']), submission(PERSONA_B, ['dvc', 'his'])]);
    for (let round = 0; round < 2; round++) for (const d of store.claimDue({ limit: 10 })) store.markDeadLetter(d.id, 'HTTP 400');
    expect(count('dead_letter = 1')).toBe(4);
    expect(store.retryAllDeadLetters('his')).toBe(2);
    expect(store.outboxStatus()).toMatchObject({ dvc: { deadLettered: 2, pending: 0 }, his: { deadLettered: 0, pending: 2 } });
    expect(store.retryAllDeadLetters()).toBe(2);
    expect(count('dead_letter = 0 AND delivered_at IS NULL')).toBe(4);
  });
});

describe('recordMany', () => {
  it('records all in one commit with consecutive sequences, or nothing when one is refused', () => {
    const recs = store.recordMany([submission(PERSONA_A), submission(PERSONA_B, ['dvc'])]);
    expect(recs.map((r) => r.seq)).toEqual([1, 2]);
    expect(recs.map((r) => r.deliveries.map((d) => [d.upstream, d.aggregateSeq]))).toEqual([[['dvc', 1], ['population', 1]], [['dvc', 2]]]);
    expect(store.getTransaction(recs[1]!.id)?.citizen?.idNumber).toBe(PERSONA_B.idNumber);
    const bad = { ...submission(PERSONA_A), citizen: { idNumber: '123' } };
    expect(codeOf(() => store.recordMany([submission(PERSONA_A), bad]))).toBe('STORE_FIELD_REJECTED');
    expect(store.db.prepare('SELECT count(*) FROM transactions').pluck().get()).toBe(2);
    expect(store.verifyAudit().ok).toBe(true);
  });
});
