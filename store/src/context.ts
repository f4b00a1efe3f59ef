import { appendAudit, writeCheckpoint, type AuditEntry } from './audit-log.js';
import type { Db } from './database.js';
import type { Keyring } from './field-crypto.js';
import type { CheckpointSigner } from './key-provider.js';

/** What the store's operations share: one connection, its keys, the checkpoint signer and the clock. */
export interface StoreContext {
  db: Db;
  keyring: Keyring;
  signer: CheckpointSigner;
  /** Milliseconds since the epoch; injected so tests can move time (retention, retry schedules). */
  now: () => number;
  checkpointEvery: number;
}

/** Appends an audit entry and signs a checkpoint when one is due; call inside the change's write transaction. */
export function audit(ctx: StoreContext, entry: AuditEntry, now: number): void {
  if (appendAudit(ctx.db, entry, now).unsigned >= ctx.checkpointEvery) writeCheckpoint(ctx.db, ctx.signer, now);
}
