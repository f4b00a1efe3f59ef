import { statSync } from 'node:fs';
import { KioskError, isKioskError, type KioskConfig } from '@kiosk/common';
import { listCheckpoints, verifyAudit, writeCheckpoint, type AuditCheckpoint, type AuditReport, type VerifyAuditOptions } from './audit-log.js';
import type { StoreContext } from './context.js';
import { integrityCheck, openDatabase, writeTransaction, type Db } from './database.js';
import { Keyring } from './field-crypto.js';
import { FileCheckpointSigner, FileKeyProvider, type CheckpointSigner, type KeyProvider } from './key-provider.js';
import { schemaVersion } from './migrations/index.js';
import {
  claimDue,
  deadLetters,
  deliveredKeys,
  deliveriesOf,
  markDeadLetter,
  markDelivered,
  markDeliveredBatch,
  markRetry,
  markRetryBatch,
  nextDueAt,
  outboxStatus,
  releaseClaims,
  rescheduleUnanswered,
  requeueDelivered,
  retryAllDeadLetters,
  retryDeadLetter,
  type BatchMarkResult,
  type ClaimOptions,
  type DeadLetter,
  type DeliveredKey,
  type DeliveryState,
  type DueDelivery,
  type RequeueResult,
  type UpstreamOutboxStatus,
} from './outbox.js';
import { eraseCitizen, purgeExpired, reencryptBatch, rotateDataKey, type EraseResult } from './retention.js';
import { TRANSACTION_STATUSES, exportRedacted, findByCitizen, getTransaction, recordMany, recordTransaction, type NewTransaction, type RecordedTransaction, type RedactedRecord, type StoredTransaction, type TransactionStatus } from './transactions.js';

export interface OpenStoreOptions {
  path: string;
  /** Device key that wraps the data keys; or `keyFile` for the 0600 file provider. */
  keyProvider?: KeyProvider;
  keyFile?: string;
  /** Audit checkpoint signer; or `signingKeyFile` for the Ed25519 PEM file. */
  signer?: CheckpointSigner;
  signingKeyFile?: string;
  /** Create missing key files (first start). Default true unless read-only. */
  createKeys?: boolean;
  /** Read-only connection: stats, export, audit verify. */
  readonly?: boolean;
  busyTimeoutMs?: number;
  checkpointEvery?: number;
  retentionDays?: number;
  now?: () => number;
  /** Test hook, see OpenDatabaseOptions.maxPageCount. */
  maxPageCount?: number;
}

/** Stands in when a read-only tool opened the store without keys: any use of personal data says why it fails. */
const NO_KEYS: KeyProvider & CheckpointSigner = {
  description: 'no key (opened without a key file)',
  publicKeyPem: '',
  wrap: () => {
    throw new KioskError('STORE_KEY_UNAVAILABLE', 'the store was opened without its key file');
  },
  unwrap: () => {
    throw new KioskError('STORE_KEY_UNAVAILABLE', 'the store was opened without its key file');
  },
  sign: () => {
    throw new KioskError('STORE_KEY_UNAVAILABLE', 'the store was opened without its signing key file');
  },
};

export interface StoreStats {
  schemaVersion: number;
  /** Count per `kind/status`, only the pairs that occur. */
  transactions: Record<string, number>;
  /** Count per status, every status present (0 included), so "needs-review: 0" is shown rather than left out. */
  byStatus: Record<TransactionStatus, number>;
  withPersonalData: number;
  outbox: { pending: number; delivered: number; deadLetter: number; oldestPendingAt: string | null };
  audit: { entries: number; lastCheckpointSeq: number | null };
  dataKeys: number;
  bytes: { db: number; wal: number };
}

/**
 * The local transaction store, one per process (kiosk service: records; sync agent: claims and marks deliveries).
 * A disk-full or read-only failure puts the store in a refusing state: every later `recordTransaction` fails with
 * the same code until `clearFault()`, so the kiosk stops taking citizens instead of pretending to record.
 */
export class TransactionStore {
  readonly path: string;
  readonly db: Db;
  readonly #ctx: StoreContext;
  readonly #retentionDays: number;
  #fault: KioskError | undefined;

  private constructor(path: string, db: Db, ctx: StoreContext, retentionDays: number) {
    this.path = path;
    this.db = db;
    this.#ctx = ctx;
    this.#retentionDays = retentionDays;
  }

  static open(options: OpenStoreOptions): TransactionStore {
    const readonly = options.readonly ?? false;
    const create = options.createKeys ?? !readonly;
    const provider = options.keyProvider ?? (options.keyFile ? new FileKeyProvider(options.keyFile, { create }) : NO_KEYS);
    const signer = options.signer ?? (options.signingKeyFile ? new FileCheckpointSigner(options.signingKeyFile, { create }) : NO_KEYS);
    const db = openDatabase(options.path, { readonly, busyTimeoutMs: options.busyTimeoutMs, maxPageCount: options.maxPageCount });
    const ctx: StoreContext = { db, keyring: new Keyring(db, provider), signer, now: options.now ?? Date.now, checkpointEvery: options.checkpointEvery ?? 100 };
    try {
      if (!readonly && provider !== NO_KEYS) {
        writeTransaction(db, 'cannot create the store keys', () => ctx.keyring.ensureKeys(ctx.now()));
        ctx.keyring.current(); // a wrong device key fails here, at start-up, not at the first citizen
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return new TransactionStore(options.path, db, ctx, options.retentionDays ?? 30);
  }

  /** Opens with the `store` section of the kiosk configuration. */
  static fromConfig(config: KioskConfig['store'], overrides: Partial<OpenStoreOptions> = {}): TransactionStore {
    return TransactionStore.open({ path: config.path, keyFile: config.keyFile, signingKeyFile: config.signingKeyFile, busyTimeoutMs: config.busyTimeoutMs, checkpointEvery: config.checkpointEvery, retentionDays: config.retentionDays, ...overrides });
  }

  close(): void {
    this.db.close();
  }

  /** The fault that makes the store refuse new transactions, if any. */
  get fault(): KioskError | undefined {
    return this.#fault;
  }

  /** After the operator freed space or fixed permissions: accept transactions again (the next write re-checks). */
  clearFault(): void {
    this.#fault = undefined;
  }

  /** Records a transaction with all its upstream deliveries, atomically and durably (see transactions.ts). */
  recordTransaction(input: NewTransaction): RecordedTransaction {
    return this.#refusingOnFault(() => recordTransaction(this.#ctx, input));
  }

  /** Many transactions in one SQLite transaction (one commit): all or none. For bulk loads, not for the kiosk. */
  recordMany(inputs: readonly NewTransaction[]): RecordedTransaction[] {
    return this.#refusingOnFault(() => recordMany(this.#ctx, inputs));
  }

  #refusingOnFault<T>(record: () => T): T {
    if (this.#fault) throw new KioskError(this.#fault.code, `the store refuses new transactions until the fault is fixed: ${this.#fault.message}`, { cause: this.#fault });
    try {
      return record();
    } catch (err) {
      if (isKioskError(err, 'STORE_DISK_FULL') || isKioskError(err, 'STORE_READ_ONLY') || isKioskError(err, 'STORE_CORRUPT')) this.#fault = err;
      throw err;
    }
  }

  getTransaction(id: string): StoredTransaction | undefined {
    return getTransaction(this.#ctx, id);
  }

  findByCitizen(idNumber: string): StoredTransaction[] {
    return findByCitizen(this.#ctx, idNumber);
  }

  exportRedacted(since: number): Generator<RedactedRecord> {
    return exportRedacted(this.#ctx, since);
  }

  claimDue(options?: ClaimOptions): DueDelivery[] {
    return claimDue(this.#ctx, options);
  }

  markDelivered(id: number, receipt?: string): void {
    markDelivered(this.#ctx, id, receipt);
  }

  markRetry(id: number, error: string, nextAttemptAt: number): void {
    markRetry(this.#ctx, id, error, nextAttemptAt);
  }

  /** A whole acknowledged batch in one commit; idempotent (see outbox.ts). */
  markDeliveredBatch(ids: readonly number[], receipts?: ReadonlyMap<number, string>): BatchMarkResult {
    return markDeliveredBatch(this.#ctx, ids, receipts);
  }

  /** The deliveries of one transaction and their receipts (what the kiosk screen shows after a submission). */
  deliveriesOf(transactionId: string): DeliveryState[] {
    return deliveriesOf(this.#ctx, transactionId);
  }

  /** One upstream's delivered rows after `afterId`, for reconciliation with an upstream that may have lost some. */
  deliveredKeys(options: { upstream: string; afterId?: number; limit?: number }): DeliveredKey[] {
    return deliveredKeys(this.#ctx, options);
  }

  /** Acknowledged deliveries the upstream no longer holds go back in the queue (see outbox.ts). */
  requeueDelivered(ids: readonly number[], reason: string): RequeueResult {
    return requeueDelivered(this.#ctx, ids, reason);
  }

  markRetryBatch(ids: readonly number[], error: string, nextAttemptAt: number): BatchMarkResult {
    return markRetryBatch(this.#ctx, ids, error, nextAttemptAt);
  }

  /** Claimed deliveries not sent after all (credentials refused): due again at once, no attempt spent. */
  releaseClaims(ids: readonly number[]): void {
    releaseClaims(this.#ctx, ids);
  }

  /** After network failures, the upstream answers again: its "no answer" retries are due now (see outbox.ts). */
  rescheduleUnanswered(upstream: string): number {
    return rescheduleUnanswered(this.#ctx, upstream);
  }

  /** When the next delivery to one of `upstreams` comes due (retry time or lease end); null when none is pending. */
  nextDueAt(upstreams: readonly string[]): number | null {
    return nextDueAt(this.#ctx, upstreams);
  }

  /** Per upstream: pending, in flight, delivered, dead-lettered, oldest pending. */
  outboxStatus(): Record<string, UpstreamOutboxStatus> {
    return outboxStatus(this.#ctx);
  }

  deadLetters(options: { limit?: number; upstream?: string } = {}): DeadLetter[] {
    return deadLetters(this.#ctx, options);
  }

  retryDeadLetter(id: number): void {
    retryDeadLetter(this.#ctx, id);
  }

  retryAllDeadLetters(upstream?: string): number {
    return retryAllDeadLetters(this.#ctx, upstream);
  }

  markDeadLetter(id: number, error: string): void {
    markDeadLetter(this.#ctx, id, error);
  }

  purgeExpired(retentionDays: number = this.#retentionDays): number {
    return purgeExpired(this.#ctx, retentionDays);
  }

  eraseCitizen(idNumber: string, requestRef: string): EraseResult {
    return eraseCitizen(this.#ctx, idNumber, requestRef);
  }

  rotateDataKey(): number {
    return rotateDataKey(this.#ctx);
  }

  reencryptBatch(batch?: number): number {
    return reencryptBatch(this.#ctx, batch);
  }

  /** Signs the audit head now (the sync agent calls this before sending checkpoints upstream). */
  checkpoint(): number | undefined {
    return writeTransaction(this.db, 'cannot write an audit checkpoint', () => writeCheckpoint(this.db, this.#ctx.signer, this.#ctx.now()));
  }

  checkpoints(): AuditCheckpoint[] {
    return listCheckpoints(this.db);
  }

  verifyAudit(options: VerifyAuditOptions = {}): AuditReport {
    return verifyAudit(this.db, { trustedPublicKeyPem: this.#ctx.signer.publicKeyPem || undefined, ...options });
  }

  integrityCheck(): string[] {
    return integrityCheck(this.db);
  }

  stats(): StoreStats {
    const count = (sql: string): number => (this.db.prepare(sql).get() as { n: number }).n;
    const byKind = this.db.prepare('SELECT kind, status, count(*) AS n FROM transactions GROUP BY kind, status ORDER BY kind, status').all() as Array<{ kind: string; status: string; n: number }>;
    const oldest = this.db.prepare('SELECT min(next_attempt_at) AS at FROM outbox WHERE delivered_at IS NULL AND dead_letter = 0').get() as { at: number | null };
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    const last = this.db.prepare('SELECT max(audit_seq) AS seq FROM audit_checkpoints').get() as { seq: number | null };
    return {
      schemaVersion: schemaVersion(this.db),
      transactions: Object.fromEntries(byKind.map((r) => [`${r.kind}/${r.status}`, r.n])),
      byStatus: Object.fromEntries(TRANSACTION_STATUSES.map((st) => [st, byKind.filter((r) => r.status === st).reduce((n, r) => n + r.n, 0)])) as Record<TransactionStatus, number>,
      withPersonalData: count('SELECT count(*) AS n FROM transactions WHERE personal IS NOT NULL'),
      outbox: {
        pending: count('SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL AND dead_letter = 0'),
        delivered: count('SELECT count(*) AS n FROM outbox WHERE delivered_at IS NOT NULL'),
        deadLetter: count('SELECT count(*) AS n FROM outbox WHERE dead_letter = 1'),
        oldestPendingAt: oldest.at === null ? null : new Date(oldest.at).toISOString(),
      },
      audit: { entries: count('SELECT count(*) AS n FROM audit_log'), lastCheckpointSeq: last.seq },
      dataKeys: count('SELECT count(*) AS n FROM data_keys'),
      bytes: { db: size(this.path), wal: size(`${this.path}-wal`) },
    };
  }
}
