import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import type { NewTransaction, TransactionStatus, TransactionStore } from '@kiosk/store';
import { CLAIM_DUE_SQL, CLAIM_NEWEST_SQL } from '../src/outbox.js';
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

describe('recording', () => {
  it('records a transaction with its deliveries and reads them back decrypted', () => {
    const rec = store.recordTransaction(submission(PERSONA_A));
    expect(rec.seq).toBe(1);
    expect(rec.deliveries.map((d) => [d.upstream, d.aggregateSeq, d.idempotencyKey])).toEqual([
      ['dvc', 1, `${rec.id}/dvc`],
      ['population', 1, `${rec.id}/population`],
    ]);
    const stored = store.getTransaction(rec.id);
    expect(stored?.citizen?.idNumber).toBe(PERSONA_A.idNumber);
    expect(stored?.citizen?.fields?.fullName).toBe(PERSONA_A.fullName);
    expect(stored?.verdict).toEqual({ chip: 'genuine', faceMatch: 'match', score: 0.71 });
    const second = store.recordTransaction(submission(PERSONA_B, ['dvc']));
    expect(second.seq).toBe(2);
    expect(second.deliveries[0]?.aggregateSeq).toBe(2);
  });

  it('takes a transaction id the caller drew (its payloads name it), refuses one that is not a UUID, and never overwrites on a duplicate', () => {
    const id = '3f1c2a9e-7b4d-4c8e-9a6f-0123456789ab';
    const recorded = store.recordTransaction({ ...submission(PERSONA_A), id });
    expect(recorded.id).toBe(id);
    expect(recorded.deliveries.map((d) => d.idempotencyKey)).toEqual([`${id}/dvc`, `${id}/population`]);
    expect(store.getTransaction(id)?.citizen?.idNumber).toBe(PERSONA_A.idNumber);
    for (const bad of ['', 'not-a-uuid', id.toUpperCase(), `${id}x`, '../etc']) expect(codeOf(() => store.recordTransaction({ ...submission(PERSONA_B), id: bad }))).toBe('STORE_FIELD_REJECTED');
    expect(() => store.recordTransaction({ ...submission(PERSONA_B), id })).toThrow();
    expect(store.getTransaction(id)?.citizen?.idNumber).toBe(PERSONA_A.idNumber);
    expect(store.db.prepare('SELECT count(*) AS n FROM transactions').get()).toEqual({ n: 1 });
  });

  it('gives 2,000 transactions distinct UUIDv7 ids whose time prefix never goes back (id-keyed indexes grow at the right edge)', () => {
    const ids = store.recordMany(Array.from({ length: 2000 }, () => submission(PERSONA_A, ['dvc']))).map((r) => r.id);
    expect(new Set(ids).size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const prefixes = ids.map((id) => id.slice(0, 13));
    expect(prefixes).toEqual([...prefixes].sort());
  });

  it('commits nothing when one delivery is invalid (transaction and outbox are all or nothing)', () => {
    const bad = submission(PERSONA_A);
    const deliveries = [...bad.deliveries, { upstream: 'his', payload: { portrait: 'x' } }];
    expect(codeOf(() => store.recordTransaction({ ...bad, deliveries }))).toBe('STORE_FIELD_REJECTED');
    // A failure inside the SQL transaction (same upstream twice would be caught earlier, so break the schema instead).
    store.db.exec("CREATE TRIGGER fail_second BEFORE INSERT ON outbox WHEN NEW.upstream = 'population' BEGIN SELECT RAISE(ABORT, 'injected'); END");
    expect(() => store.recordTransaction(submission(PERSONA_A))).toThrow('injected');
    expect(store.db.prepare('SELECT count(*) AS n FROM transactions').get()).toEqual({ n: 0 });
    expect(store.db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 0 });
    expect(store.db.prepare('SELECT count(*) AS n FROM audit_log').get()).toEqual({ n: 0 });
  });

  it('refuses images, binary data and personal data in the clear verdict', () => {
    const base = submission(PERSONA_A);
    const jpegBase64 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1]).toString('base64');
    const cases: Array<[string, () => unknown]> = [
      ['buffer in fields', () => store.recordTransaction({ ...base, citizen: { idNumber: PERSONA_A.idNumber, fields: { scan: Buffer.alloc(10) as never } } })],
      ['face image key', () => store.recordTransaction({ ...base, citizen: { idNumber: PERSONA_A.idNumber, fields: { faceImage: 'abc' } } })],
      ['JPEG base64 in payload', () => store.recordTransaction({ ...base, deliveries: [{ upstream: 'dvc', payload: { attachment: jpegBase64 } }] })],
      ['data URL', () => store.recordTransaction({ ...base, deliveries: [{ upstream: 'dvc', payload: { a: ['data:image/png;base64,AAAA'] } }] })],
      ['long base64 run', () => store.recordTransaction({ ...base, deliveries: [{ upstream: 'dvc', payload: { blob: 'A'.repeat(2000) } }] })],
      ['name in verdict', () => store.recordTransaction({ ...base, verdict: { fullName: 'x' } })],
      ['ID number in verdict text', () => store.recordTransaction({ ...base, verdict: { note: `card ${PERSONA_A.idNumber}` } })],
      ['malformed citizen ID', () => store.recordTransaction({ ...base, citizen: { idNumber: '12345' } })],
      ['unknown kind', () => store.recordTransaction({ ...base, kind: 'lottery' as never })],
      ['same upstream twice', () => store.recordTransaction({ ...base, deliveries: [base.deliveries[0]!, base.deliveries[0]!] })],
    ];
    for (const [what, fn] of cases) expect(codeOf(fn), what).toBe('STORE_FIELD_REJECTED');
    expect(store.db.prepare('SELECT count(*) AS n FROM transactions').get()).toEqual({ n: 0 });
  });
});

describe('status needs-review (verified only with warnings)', () => {
  const review = (extra: Partial<NewTransaction> = {}): NewTransaction => ({
    kind: 'identity-verification',
    status: 'needs-review',
    verdict: { decision: 'needs-review', policy: 'vn-cccd', reasons: 'no clone detection; CRL not current' },
    deliveries: [],
    ...extra,
  });

  it('records and reads back with its reasons, counted per status and exported as such', () => {
    store.recordTransaction(submission(PERSONA_A));
    const rec = store.recordTransaction(review());
    const stored = store.getTransaction(rec.id);
    expect(stored).toMatchObject({ status: 'needs-review', verdict: { decision: 'needs-review', reasons: 'no clone detection; CRL not current' }, citizen: undefined });
    expect(store.db.prepare('SELECT status FROM transactions WHERE id = ?').get(rec.id)).toEqual({ status: 'needs-review' });
    const entry = store.db.prepare("SELECT detail FROM audit_log WHERE subject = ? AND action = 'transaction.recorded'").get(rec.id) as { detail: string };
    expect(JSON.parse(entry.detail)).toMatchObject({ status: 'needs-review' });
    const stats = store.stats();
    expect(stats.byStatus).toEqual({ completed: 1, 'needs-review': 1, rejected: 0, failed: 0, cancelled: 0 });
    expect(stats.transactions['identity-verification/needs-review']).toBe(1);
    expect([...store.exportRedacted(0)].map((l) => [l.status, l.personalData])).toEqual([['completed', 'encrypted'], ['needs-review', 'none']]);
  });

  it('an unknown status is refused by the validation and, written around it, by the CHECK constraint', () => {
    for (const status of ['pending', 'needs_review', 'Needs-Review', '', 'completed ']) {
      expect(codeOf(() => store.recordTransaction(review({ status: status as TransactionStatus }))), status).toBe('STORE_FIELD_REJECTED');
    }
    const insert = store.db.prepare("INSERT INTO transactions (id, seq, kind, status, verdict, created_at) VALUES (?, ?, 'identity-verification', ?, '{}', 1)");
    let refused: unknown;
    try {
      insert.run('raw-1', 1, 'pending');
    } catch (err) {
      refused = err;
    }
    expect((refused as { code?: string } | undefined)?.code).toBe('SQLITE_CONSTRAINT_CHECK');
    expect(store.db.prepare('SELECT count(*) AS n FROM transactions').get()).toEqual({ n: 0 });
    insert.run('raw-2', 1, 'needs-review'); // the constraint itself admits the new status
    expect(store.db.prepare('SELECT status FROM transactions').all()).toEqual([{ status: 'needs-review' }]);
  });

  it('retention purges a needs-review row on the same clock as any other: by its deliveries, not its status', () => {
    // Personal data kept (the kiosk passes it for needs-review only once accepted); one row has a delivery pending.
    const citizen = { idNumber: PERSONA_A.idNumber, fields: { fullName: PERSONA_A.fullName } };
    const reviewed = store.recordTransaction(review({ citizen }));
    const rejected = store.recordTransaction(review({ status: 'rejected', verdict: { decision: 'reject' }, citizen }));
    const pending = store.recordTransaction(review({ citizen, deliveries: [{ upstream: 'population', payload: { note: 'review' } }] }));
    clock += 3 * 86_400_000 - 1;
    expect(store.purgeExpired(3)).toBe(0);
    clock += 1;
    expect(store.purgeExpired(3)).toBe(2);
    expect(store.getTransaction(reviewed.id)).toMatchObject({ status: 'needs-review', citizen: undefined, redactedAt: clock });
    expect(store.getTransaction(rejected.id)?.citizen).toBeUndefined();
    expect(store.getTransaction(pending.id)?.citizen?.idNumber).toBe(PERSONA_A.idNumber);
  });
});

describe('personal data at rest', () => {
  it('leaves neither the name (UTF-8, diacritics) nor the 12-digit ID anywhere in the raw database or WAL bytes', () => {
    for (let i = 0; i < 20; i++) store.recordTransaction(submission(i % 2 ? PERSONA_A : PERSONA_B));
    store.findByCitizen(PERSONA_A.idNumber);
    const files = readdirSync(dir.dir).filter((f) => f.startsWith('store.db'));
    expect(files).toContain('store.db-wal');
    const needles = [PERSONA_A.fullName, PERSONA_A.idNumber, PERSONA_B.fullName, PERSONA_B.idNumber, 'Phố Huế'].map((s) => Buffer.from(s, 'utf8'));
    // Also the UTF-16 forms, in case anything stored text another way.
    needles.push(Buffer.from(PERSONA_A.idNumber, 'utf16le'), Buffer.from(PERSONA_A.fullName, 'utf16le'));
    let scanned = 0;
    for (const f of files) {
      const bytes = readFileSync(join(dir.dir, f));
      scanned += bytes.length;
      for (const n of needles) expect(bytes.includes(n), `${f} contains ${n.toString('hex')}`).toBe(false);
    }
    expect(scanned).toBeGreaterThan(4096);
    // Control: the same scan finds clear text we did store (the verdict), so a scan that misses is not blind.
    expect(files.some((f) => readFileSync(join(dir.dir, f)).includes(Buffer.from('"faceMatch":"match"')))).toBe(true);
  });

  it('finds a citizen by keyed hash of the ID and nothing for others', () => {
    const a1 = store.recordTransaction(submission(PERSONA_A));
    store.recordTransaction(submission(PERSONA_B));
    const a2 = store.recordTransaction(submission(PERSONA_A, ['his']));
    expect(store.findByCitizen(PERSONA_A.idNumber).map((t) => t.id)).toEqual([a1.id, a2.id]);
    expect(store.findByCitizen('001090012346')).toEqual([]);
    const hashes = store.db.prepare('SELECT DISTINCT hex(citizen_hmac) AS h FROM transactions').all();
    expect(hashes).toHaveLength(2);
  });

  it('a ciphertext moved to another row does not decrypt (bound to its row)', () => {
    const a = store.recordTransaction(submission(PERSONA_A));
    const b = store.recordTransaction(submission(PERSONA_B));
    store.db.prepare('UPDATE transactions SET personal = (SELECT personal FROM transactions WHERE id = ?) WHERE id = ?').run(a.id, b.id);
    expect(codeOf(() => store.getTransaction(b.id))).toBe('STORE_DECRYPT_FAILED');
  });

  it('rotates the data key without downtime: old rows stay readable, re-encryption in batches retires the old key', () => {
    const old = Array.from({ length: 7 }, () => store.recordTransaction(submission(PERSONA_A)));
    const oldKey = (store.db.prepare('SELECT max(id) AS id FROM data_keys').get() as { id: number }).id;
    const newKey = store.rotateDataKey();
    expect(newKey).toBeGreaterThan(oldKey);
    const fresh = store.recordTransaction(submission(PERSONA_B));
    expect(store.db.prepare('SELECT key_id FROM transactions WHERE id = ?').get(fresh.id)).toEqual({ key_id: newKey });
    expect(store.getTransaction(old[0]!.id)?.citizen?.fields?.fullName).toBe(PERSONA_A.fullName);
    let batches = 0;
    let n: number;
    while ((n = store.reencryptBatch(5)) > 0) {
      batches++;
      store.recordTransaction(submission(PERSONA_B)); // the kiosk keeps working between batches
      expect(n).toBeLessThanOrEqual(5);
    }
    expect(batches).toBe(Math.ceil((7 + 14) / 5)); // 7 personal fields + 14 payloads under the old key
    expect(store.db.prepare('SELECT id FROM data_keys').all()).toEqual([{ id: newKey }]);
    expect(store.getTransaction(old[6]!.id)?.citizen?.idNumber).toBe(PERSONA_A.idNumber);
    expect(store.claimDue({ limit: 100, upstream: 'population' })[0]?.payload.fullName).toBe(PERSONA_A.fullName);
  });

  it('a reopened store with a different device key refuses to start (STORE_KEY_UNAVAILABLE)', () => {
    store.recordTransaction(submission(PERSONA_A));
    store.close();
    const other = tempStoreDir();
    try {
      expect(codeOf(() => openTempStore({ ...dir, keyFile: other.keyFile }))).toBe('STORE_KEY_UNAVAILABLE');
    } finally {
      other.cleanup();
      store = openTempStore(dir);
    }
  });
});

describe('outbox (sync agent side)', () => {
  it('claims due deliveries in aggregate order, leases them, retries later and dead-letters', () => {
    const t1 = store.recordTransaction(submission(PERSONA_A, ['dvc']));
    const t2 = store.recordTransaction(submission(PERSONA_B, ['dvc']));
    const t3 = store.recordTransaction({ ...submission(PERSONA_B, ['his']), deliveries: [{ upstream: 'his', aggregate: 'his-queue', payload: { ticket: 'A12' } }] });
    let due = store.claimDue({ leaseMs: 100_000 });
    // Only the head of each aggregate is due: t2 waits for t1 on "dvc".
    expect(due.map((d) => d.transactionId).sort()).toEqual([t1.id, t3.id].sort());
    expect(due.find((d) => d.upstream === 'dvc')?.payload.citizenId).toBe(PERSONA_A.idNumber);
    expect(store.claimDue()).toEqual([]); // leased
    const dvc = due.find((d) => d.upstream === 'dvc')!;
    store.markRetry(dvc.id, `HTTP 503 for citizen ${PERSONA_A.idNumber}`, clock + 60_000);
    expect(store.db.prepare('SELECT attempts, last_error FROM outbox WHERE id = ?').get(dvc.id)).toEqual({ attempts: 1, last_error: 'HTTP 503 for citizen [REDACTED]' });
    expect(store.claimDue()).toEqual([]); // not yet due, and t2 is behind it
    clock += 61_000;
    due = store.claimDue();
    expect(due.map((d) => d.id)).toEqual([dvc.id]);
    store.markDelivered(dvc.id);
    // The payload stays (encrypted) until the retention purge, so a delivery the upstream loses can be resent.
    expect(store.db.prepare('SELECT payload IS NOT NULL AS kept, delivered_at FROM outbox WHERE id = ?').get(dvc.id)).toEqual({ kept: 1, delivered_at: clock });
    expect(codeOf(() => store.markDelivered(dvc.id))).toBe('STORE_NOT_FOUND');
    due = store.claimDue({ upstream: 'dvc' });
    expect(due.map((d) => d.transactionId)).toEqual([t2.id]);
    store.markDeadLetter(due[0]!.id, 'HTTP 422 procedure closed');
    expect(store.stats().outbox).toMatchObject({ pending: 1, delivered: 1, deadLetter: 1 });
    expect(codeOf(() => store.markRetry(999, 'x', clock))).toBe('STORE_NOT_FOUND');
    clock += 120_000; // lease of t3 expired: due again
    expect(store.claimDue().map((d) => d.transactionId)).toEqual([t3.id]);
  });
});

describe('retention and erasure', () => {
  it('redacts personal fields only after every delivery succeeded plus the retention period', () => {
    const a = store.recordTransaction(submission(PERSONA_A, ['dvc']));
    const b = store.recordTransaction(submission(PERSONA_B, ['dvc', 'his']));
    for (const d of store.claimDue({ limit: 10 })) if (d.transactionId === a.id || d.upstream === 'dvc') store.markDelivered(d.id);
    expect(store.purgeExpired(3)).toBe(0);
    clock += 3 * 86_400_000;
    expect(store.purgeExpired(3)).toBe(1); // b still has its "his" delivery pending
    expect(store.getTransaction(a.id)?.citizen).toBeUndefined();
    expect(store.getTransaction(a.id)?.redactedAt).toBe(clock);
    expect(store.getTransaction(b.id)?.citizen?.idNumber).toBe(PERSONA_B.idNumber);
    expect(store.findByCitizen(PERSONA_A.idNumber)).toEqual([]);
  });

  it('erases one citizen on request, cancels their pending deliveries and writes an audit entry without the ID', () => {
    const a1 = store.recordTransaction(submission(PERSONA_A));
    const b = store.recordTransaction(submission(PERSONA_B, ['his']));
    const [first] = store.claimDue({ upstream: 'dvc' });
    store.markDelivered(first!.id);
    store.recordTransaction(submission(PERSONA_A, ['his']));
    const result = store.eraseCitizen(PERSONA_A.idNumber, 'DSR-2026-0042');
    expect(result).toEqual({ transactions: 2, cancelledDeliveries: 2 });
    expect(store.findByCitizen(PERSONA_A.idNumber)).toEqual([]);
    expect(store.getTransaction(a1.id)?.citizen).toBeUndefined();
    expect(store.db.prepare('SELECT count(*) AS n FROM outbox o JOIN transactions t ON t.id = o.transaction_id WHERE t.id <> ? AND o.payload IS NOT NULL').get(b.id)).toEqual({ n: 0 });
    expect(store.getTransaction(b.id)?.citizen?.idNumber).toBe(PERSONA_B.idNumber);
    const entry = store.db.prepare("SELECT subject, detail FROM audit_log WHERE action = 'citizen.erased'").get() as { subject: string; detail: string };
    expect(entry.subject).toBe('DSR-2026-0042');
    expect(JSON.parse(entry.detail)).toEqual({ transactions: 2, cancelledDeliveries: 2 });
    expect(codeOf(() => store.eraseCitizen(PERSONA_A.idNumber, PERSONA_A.idNumber))).toBe('STORE_FIELD_REJECTED');
    expect(store.verifyAudit().ok).toBe(true);
  });

  it('exports redacted JSON without any personal field', () => {
    store.recordTransaction(submission(PERSONA_A));
    clock += 1000;
    const since = clock;
    store.recordTransaction(submission(PERSONA_B));
    const lines = [...store.exportRedacted(since)];
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ seq: 2, personalData: 'encrypted', deliveries: [{ upstream: 'dvc', aggregateSeq: 2 }, { upstream: 'population' }] });
    const text = JSON.stringify(lines);
    for (const s of [PERSONA_B.fullName, PERSONA_B.idNumber, PERSONA_B.address]) expect(text).not.toContain(s);
  });
});

describe('faults', () => {
  it('a full disk (max_page_count) is STORE_DISK_FULL, the store then refuses, and nothing acknowledged is lost', () => {
    store.close();
    store = openTempStore(dir, { now: () => clock });
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.close();
    store = openTempStore(dir, { now: () => clock, maxPageCount: pages + 40 });
    const acked: string[] = [];
    let error: unknown;
    for (let i = 0; i < 10_000 && !error; i++) {
      try {
        acked.push(store.recordTransaction(submission(PERSONA_A)).id);
      } catch (err) {
        error = err;
      }
    }
    expect(isKioskError(error, 'STORE_DISK_FULL')).toBe(true);
    expect(acked.length).toBeGreaterThan(10);
    expect(codeOf(() => store.recordTransaction(submission(PERSONA_B)))).toBe('STORE_DISK_FULL');
    expect(store.fault?.code).toBe('STORE_DISK_FULL');
    store.close();
    store = openTempStore(dir, { now: () => clock });
    expect(store.integrityCheck()).toEqual(['ok']);
    const ids = (store.db.prepare('SELECT id FROM transactions ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id);
    expect(ids).toEqual(acked);
    expect(store.db.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: acked.length * 2 });
    expect(store.verifyAudit().ok).toBe(true);
    store.recordTransaction(submission(PERSONA_B)); // space is back
  });

  it('a read-only database (opened read-only, as a read-only mount gives) is STORE_READ_ONLY, with no change', () => {
    store.recordTransaction(submission(PERSONA_A));
    store.close();
    store = openTempStore(dir, { readonly: true, now: () => clock });
    expect(codeOf(() => store.recordTransaction(submission(PERSONA_B)))).toBe('STORE_READ_ONLY');
    expect(codeOf(() => store.recordTransaction(submission(PERSONA_B)))).toBe('STORE_READ_ONLY');
    expect(store.fault?.code).toBe('STORE_READ_ONLY');
    expect(store.db.prepare('SELECT count(*) AS n FROM transactions').get()).toEqual({ n: 1 });
  });

  it('opening a file that is not a database is a typed error', () => {
    writeFileSync(join(dir.dir, 'junk.db'), Buffer.alloc(8192, 0x41));
    expect(codeOf(() => openTempStore({ ...dir, path: join(dir.dir, 'junk.db') }))).toBe('STORE_CORRUPT');
  });
});

const count = (where: string): number => store.db.prepare(`SELECT count(*) FROM outbox WHERE ${where}`).pluck().get() as number;
const auditActions = (): string[] => store.db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all() as string[];

/** n transactions of one citizen, each with a delivery to every upstream, in the dossier aggregate. */
function dossier(n: number, upstreams = ['city', 'hospital']): void {
  store.recordMany(Array.from({ length: n }, () => ({ ...submission(PERSONA_A), deliveries: upstreams.map((upstream) => ({ upstream, aggregate: 'dossier-1', payload: { n: 1 } })) })));
}

describe('batched bookkeeping', () => {
  it('marks a delivered batch in one transaction, keeps payloads for the retention period, audits each, and is idempotent on a resend', () => {
    dossier(1, ['city']);
    store.recordTransaction(submission(PERSONA_B, ['dvc', 'population']));
    const due = store.claimDue({ limit: 10 });
    expect(due).toHaveLength(3);
    const ids = due.map((d) => d.id);
    const before = auditActions().length;
    expect(store.markDeliveredBatch(ids)).toEqual({ marked: ids, alreadyDone: [], deadLettered: [] });
    expect(count('delivered_at IS NOT NULL AND payload IS NOT NULL AND claimed_until IS NULL')).toBe(3);
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

  it('newestFirst claims the most recent due deliveries; either order hands out only the head of each aggregate', () => {
    const ids = ['a', 'b', 'c'].map((aggregate) => store.recordTransaction({ ...submission(PERSONA_A), deliveries: [{ upstream: 'dvc', aggregate, payload: { n: 1 } }] }).deliveries[0]!.id);
    dossier(2, ['city']);
    expect(store.claimDue({ upstream: 'dvc', limit: 2, newestFirst: true, leaseMs: 1 }).map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(store.claimDue({ upstream: 'dvc', limit: 2, leaseMs: 1 }).map((d) => d.id)).toEqual([ids[0]]);
    expect(store.claimDue({ upstream: 'city', newestFirst: true }).map((d) => d.aggregateSeq)).toEqual([1]);
  });

  it('nextDueAt: the earliest retry or lease end among aggregate heads of the upstreams named; releaseClaims makes them due now', () => {
    dossier(2, ['city']);
    expect(store.outboxStatus().city).toMatchObject({ pending: 2, inFlight: 0 }); // never claimed: 0, not null
    expect(store.nextDueAt(['city'])).toBe(clock);
    expect(store.nextDueAt(['other'])).toBeNull();
    const [head] = store.claimDue({ upstream: 'city', leaseMs: 60_000 });
    // The second of the dossier waits behind its head: only the head's lease counts.
    expect(store.nextDueAt(['city'])).toBe(clock + 60_000);
    store.releaseClaims([head!.id]);
    expect(store.nextDueAt(['city'])).toBe(clock);
    expect(store.claimDue({ upstream: 'city' }).map((d) => [d.id, d.attempts])).toEqual([[head!.id, 0]]);
    store.markRetry(head!.id, 'HTTP 503', clock + 5_000);
    expect(store.nextDueAt(['city'])).toBe(clock + 5_000);
  });

  it.each([
    ['oldest first', CLAIM_DUE_SQL],
    ['newest first', CLAIM_NEWEST_SQL],
  ])('%s: walks the due index without a sort and uses the pending-order index for the older-pending probe (no scan of delivered history)', (_order, query) => {
    const plan = store.db
      .prepare(`EXPLAIN QUERY PLAN ${query}`)
      .all({ now: clock, upstream: null, limit: 20 }) as Array<{ detail: string }>;
    const text = plan.map((p) => p.detail).join('\n');
    expect(text).toMatch(/SEARCH o USING INDEX outbox_due/);
    expect(text).not.toMatch(/TEMP B-TREE/);
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

// Receipts and reconciliation with an upstream that lost deliveries (migration 006).
const DAY = 86_400_000;
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
