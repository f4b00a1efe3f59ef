import { createHash, verify as verifySignature } from 'node:crypto';
import { type Db, sql } from './database.js';
import type { CheckpointSigner } from './key-provider.js';

/**
 * Append-only audit log. Each entry's hash covers the previous entry's hash and the entry's own columns, so editing
 * or deleting a row breaks the chain; a checkpoint signs the head (sequence + hash) with the device key, and the sync
 * agent sends checkpoints upstream, so cutting off the newest entries is caught against the last signed checkpoint.
 */
export interface AuditEntry {
  actor: string;
  action: string;
  subject?: string | undefined;
  /** Machine-readable, never personal data. */
  detail?: Record<string, string | number | boolean | null>;
}

const GENESIS = Buffer.alloc(32);

function entryHash(prev: Buffer, seq: number, at: number, actor: string, action: string, subject: string | null, detail: string): Buffer {
  return createHash('sha256').update(prev).update(JSON.stringify([seq, at, actor, action, subject, detail])).digest();
}

function checkpointMessage(auditSeq: number, head: Buffer, at: number): Buffer {
  return Buffer.from(`kiosk-store audit checkpoint v1\n${auditSeq}\n${head.toString('hex')}\n${at}`);
}

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string | null;
  detail: string;
  prev_hash: Buffer;
  hash: Buffer;
}

/**
 * The chain head and the newest signed sequence, in one statement (no row on an empty log). Read inside the write
 * transaction rather than cached: the sync agent appends from its own process, and checking a cached head would
 * cost the same rightmost-leaf look-up as reading it.
 */
const HEAD_SQL = 'SELECT seq, hash, (SELECT coalesce(max(audit_seq), 0) FROM audit_checkpoints) AS signed FROM audit_log ORDER BY seq DESC LIMIT 1';

/**
 * Appends one entry (call inside the write transaction of the change it records); returns its sequence and how many
 * entries, it included, no checkpoint has signed yet.
 */
export function appendAudit(db: Db, entry: AuditEntry, now: number): { seq: number; unsigned: number } {
  const last = sql(db, HEAD_SQL).get() as { seq: number; hash: Buffer; signed: number } | undefined;
  const seq = (last?.seq ?? 0) + 1;
  const prev = last?.hash ?? GENESIS;
  const detail = JSON.stringify(entry.detail ?? {});
  const subject = entry.subject ?? null;
  const hash = entryHash(prev, seq, now, entry.actor, entry.action, subject, detail);
  sql(db, 'INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(seq, now, entry.actor, entry.action, subject, detail, prev, hash);
  return { seq, unsigned: seq - (last?.signed ?? 0) };
}

/** Signs the current head; returns the checkpointed sequence, or undefined on an empty log. */
export function writeCheckpoint(db: Db, signer: CheckpointSigner, now: number): number | undefined {
  const head = sql(db, 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: Buffer } | undefined;
  if (!head) return undefined;
  const done = sql(db, 'SELECT 1 FROM audit_checkpoints WHERE audit_seq = ?').get(head.seq);
  if (done) return head.seq;
  const signature = signer.sign(checkpointMessage(head.seq, head.hash, now));
  sql(db, 'INSERT INTO audit_checkpoints (audit_seq, head_hash, at, public_key, signature) VALUES (?, ?, ?, ?, ?)').run(head.seq, head.hash, now, signer.publicKeyPem, signature);
  return head.seq;
}

export interface AuditCheckpoint {
  auditSeq: number;
  headHash: string;
  at: number;
  publicKeyPem: string;
  signature: string;
}

export interface AuditProblem {
  seq: number;
  problem: 'edited' | 'deleted' | 'truncated' | 'checkpoint-mismatch' | 'checkpoint-signature' | 'checkpoint-untrusted-key';
  message: string;
}

export interface AuditReport {
  ok: boolean;
  entries: number;
  headSeq: number;
  checkpoints: number;
  lastCheckpointSeq: number | null;
  problems: AuditProblem[];
}

export interface VerifyAuditOptions {
  /** The device's public key (SPKI PEM): checkpoints signed by any other key are reported. */
  trustedPublicKeyPem?: string | undefined;
  /** Checkpoints held elsewhere (upstream copy): a local log that lost its own checkpoint table is still checked. */
  externalCheckpoints?: readonly AuditCheckpoint[];
}

export function listCheckpoints(db: Db): AuditCheckpoint[] {
  const rows = sql(db, 'SELECT audit_seq, head_hash, at, public_key, signature FROM audit_checkpoints ORDER BY audit_seq').all() as Array<{ audit_seq: number; head_hash: Buffer; at: number; public_key: string; signature: Buffer }>;
  return rows.map((r) => ({ auditSeq: r.audit_seq, headHash: r.head_hash.toString('hex'), at: r.at, publicKeyPem: r.public_key, signature: r.signature.toString('base64') }));
}

/** Recomputes the whole chain and checks every checkpoint against it. */
export function verifyAudit(db: Db, options: VerifyAuditOptions = {}): AuditReport {
  const problems: AuditProblem[] = [];
  const hashes = new Map<number, Buffer>();
  let expectedSeq = 1;
  let prev: Buffer = GENESIS;
  let entries = 0;
  for (const row of sql(db, 'SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
    entries++;
    if (row.seq !== expectedSeq) problems.push({ seq: expectedSeq, problem: 'deleted', message: `entries ${expectedSeq}..${row.seq - 1} are missing` });
    else if (!row.prev_hash.equals(prev)) problems.push({ seq: row.seq, problem: 'deleted', message: `entry ${row.seq} does not follow the entry before it` });
    const recomputed = entryHash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.subject, row.detail);
    if (!recomputed.equals(row.hash)) problems.push({ seq: row.seq, problem: 'edited', message: `entry ${row.seq} was changed after it was written` });
    hashes.set(row.seq, row.hash);
    prev = row.hash;
    expectedSeq = row.seq + 1;
  }
  const headSeq = expectedSeq - 1;
  const checkpoints = new Map<number, AuditCheckpoint>();
  for (const c of [...listCheckpoints(db), ...(options.externalCheckpoints ?? [])]) checkpoints.set(c.auditSeq, c);
  let lastCheckpointSeq: number | null = null;
  for (const c of [...checkpoints.values()].sort((a, b) => a.auditSeq - b.auditSeq)) {
    const head = Buffer.from(c.headHash, 'hex');
    let signed = false;
    try {
      signed = verifySignature(null, checkpointMessage(c.auditSeq, head, c.at), c.publicKeyPem, Buffer.from(c.signature, 'base64'));
    } catch {
      signed = false;
    }
    if (!signed) problems.push({ seq: c.auditSeq, problem: 'checkpoint-signature', message: `checkpoint at entry ${c.auditSeq} has an invalid signature` });
    else if (options.trustedPublicKeyPem !== undefined && c.publicKeyPem.trim() !== options.trustedPublicKeyPem.trim()) {
      problems.push({ seq: c.auditSeq, problem: 'checkpoint-untrusted-key', message: `checkpoint at entry ${c.auditSeq} is signed by a key that is not this device's` });
    }
    lastCheckpointSeq = c.auditSeq;
    const actual = hashes.get(c.auditSeq);
    if (c.auditSeq > headSeq) problems.push({ seq: c.auditSeq, problem: 'truncated', message: `the log ends at entry ${headSeq} but entry ${c.auditSeq} was signed` });
    else if (!actual || !actual.equals(head)) problems.push({ seq: c.auditSeq, problem: 'checkpoint-mismatch', message: `entry ${c.auditSeq} differs from the one the checkpoint signed` });
  }
  return { ok: problems.length === 0, entries, headSeq, checkpoints: checkpoints.size, lastCheckpointSeq, problems };
}
