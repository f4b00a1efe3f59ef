import { readFileSync } from 'node:fs';
import { KioskError, loadConfig, parseCliArgs, runCommands } from '@kiosk/common';
import { FileCheckpointSigner } from '../key-provider.js';
import { TransactionStore } from '../store.js';
import type { AuditCheckpoint } from '../audit-log.js';

const HELP = `kiosk-store: the local transaction store (SQLite) shared by the kiosk service and the sync agent

Usage:
  kiosk-store stats [--db PATH] [--json]
      counts of transactions per status (every status, needs-review included) and per kind/status, outbox
      deliveries (pending, delivered, dead-lettered), audit entries, file sizes
  kiosk-store audit verify [--db PATH] [--signing-key-file PATH] [--checkpoints FILE] [--json]
      recompute the audit hash chain and check every signed checkpoint (also those in FILE, a JSON array kept
      upstream); exit 1 with STORE_AUDIT_BROKEN when a row was edited or deleted or the log truncated
  kiosk-store export --since DATE [--db PATH]
      transactions created at or after DATE (YYYY-MM-DD or ISO 8601) as JSON lines, without any personal field
  kiosk-store erase --citizen ID|- [--request REF] [--db PATH] [--key-file PATH] [--signing-key-file PATH] [--json]
      data-subject request: erase the personal data of every transaction of the citizen with this 12-digit ID
      ("-" reads it from stdin, keeping it out of the process list and shell history); REF (case number) goes
      into the audit entry
  kiosk-store --help

Defaults for --db, --key-file and --signing-key-file come from the store section of the configuration
(kiosk.config.json named by $KIOSK_CONFIG, or KIOSK_STORE_PATH, KIOSK_STORE_KEY_FILE, KIOSK_STORE_SIGNING_KEY_FILE).
Exit codes: 0 ok, 1 failure (message names the error code), 2 usage error.
Error codes: STORE_OPEN_FAILED, STORE_AUDIT_BROKEN, STORE_KEY_UNAVAILABLE, STORE_FIELD_REJECTED, STORE_READ_ONLY,
STORE_DISK_FULL, STORE_BUSY, STORE_CORRUPT, STORE_MIGRATION_FAILED.`;

const DB = { db: { type: 'string' } } as const;
const JSON_FLAG = { json: { type: 'boolean' } } as const;

function storeConfig(): ReturnType<typeof loadConfig>['store'] {
  return loadConfig().store;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function stats(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { ...DB, ...JSON_FLAG }, strict: true }, HELP);
  const store = TransactionStore.open({ path: values.db ?? storeConfig().path, readonly: true });
  try {
    const s = store.stats();
    if (values.json) {
      print(JSON.stringify(s, null, 2));
      return 0;
    }
    print(`schema version      ${s.schemaVersion}`);
    print(`statuses            ${Object.entries(s.byStatus).map(([st, n]) => `${st} ${n}`).join(', ')}`);
    for (const [k, n] of Object.entries(s.transactions)) print(`transactions        ${k}: ${n}`);
    print(`with personal data  ${s.withPersonalData}`);
    print(`outbox              ${s.outbox.pending} pending, ${s.outbox.delivered} delivered, ${s.outbox.deadLetter} dead-lettered; oldest pending due ${s.outbox.oldestPendingAt ?? '-'}`);
    print(`audit log           ${s.audit.entries} entries, last signed checkpoint at ${s.audit.lastCheckpointSeq ?? '-'}`);
    print(`data keys           ${s.dataKeys}`);
    print(`file sizes          db ${s.bytes.db} B, wal ${s.bytes.wal} B`);
    return 0;
  } finally {
    store.close();
  }
}

function readCheckpoints(file: string): AuditCheckpoint[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(parsed)) throw new Error('not a JSON array');
    return parsed as AuditCheckpoint[];
  } catch (cause) {
    throw new KioskError('USAGE', `--checkpoints ${file}: ${(cause as Error).message}`, { cause });
  }
}

async function audit(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify') throw new KioskError('USAGE', `unknown audit command "${sub ?? ''}" (only "audit verify")\n\n${HELP}`);
  const { values } = parseCliArgs({ args: rest, options: { ...DB, ...JSON_FLAG, 'signing-key-file': { type: 'string' }, checkpoints: { type: 'string' } }, strict: true }, HELP);
  const config = storeConfig();
  const signingKeyFile = values['signing-key-file'] ?? config.signingKeyFile;
  // The public key pins the device: checkpoints signed by anything else are reported. Without it, signatures are
  // still checked, but a rewrite with a new key would pass, so say so.
  let trusted: string | undefined;
  try {
    trusted = new FileCheckpointSigner(signingKeyFile).publicKeyPem;
  } catch (err) {
    process.stderr.write(`kiosk-store: note: ${(err as Error).message}; checkpoint signer is not pinned\n`);
  }
  const store = TransactionStore.open({ path: values.db ?? config.path, readonly: true });
  try {
    const report = store.verifyAudit({ trustedPublicKeyPem: trusted, externalCheckpoints: values.checkpoints ? readCheckpoints(values.checkpoints) : [] });
    if (values.json) print(JSON.stringify(report, null, 2));
    else {
      print(`audit log: ${report.entries} entries (head ${report.headSeq}), ${report.checkpoints} checkpoints, last signed at ${report.lastCheckpointSeq ?? '-'}`);
      for (const p of report.problems) print(`  ${p.problem}: ${p.message}`);
      if (report.ok) print('chain ok');
    }
    if (!report.ok) throw new KioskError('STORE_AUDIT_BROKEN', `${report.problems.length} problem(s): ${report.problems.map((p) => p.problem).join(', ')}`, { details: { problems: report.problems.length } });
    return 0;
  } finally {
    store.close();
  }
}

function parseDate(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new KioskError('USAGE', `--since ${text}: not a date (YYYY-MM-DD or ISO 8601)\n\n${HELP}`);
  return ms;
}

async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { ...DB, since: { type: 'string' } }, strict: true }, HELP);
  if (!values.since) throw new KioskError('USAGE', `export needs --since DATE\n\n${HELP}`);
  const since = parseDate(values.since);
  const store = TransactionStore.open({ path: values.db ?? storeConfig().path, readonly: true });
  try {
    for (const record of store.exportRedacted(since)) print(JSON.stringify(record));
    return 0;
  } finally {
    store.close();
  }
}

async function erase(args: string[]): Promise<number> {
  const { values } = parseCliArgs(
    { args, options: { ...DB, ...JSON_FLAG, citizen: { type: 'string' }, request: { type: 'string' }, 'key-file': { type: 'string' }, 'signing-key-file': { type: 'string' } }, strict: true },
    HELP,
  );
  if (!values.citizen) throw new KioskError('USAGE', `erase needs --citizen ID\n\n${HELP}`);
  const citizen = values.citizen === '-' ? readFileSync(0, 'utf8').trim() : values.citizen;
  if (!/^(\d{12}|\d{9})$/.test(citizen)) throw new KioskError('USAGE', `--citizen must be a 12-digit CCCD (or 9-digit CMND) number\n\n${HELP}`);
  const config = storeConfig();
  const store = TransactionStore.open({
    path: values.db ?? config.path,
    keyFile: values['key-file'] ?? config.keyFile,
    signingKeyFile: values['signing-key-file'] ?? config.signingKeyFile,
    createKeys: false,
    checkpointEvery: config.checkpointEvery,
  });
  try {
    const result = store.eraseCitizen(citizen, values.request ?? `cli-${new Date().toISOString().slice(0, 10)}`);
    store.checkpoint(); // the erasure is signed at once, not after the next hundred entries
    print(values.json ? JSON.stringify(result) : `erased personal data of ${result.transactions} transaction(s); ${result.cancelledDeliveries} pending delivery(ies) cancelled`);
    return 0;
  } finally {
    store.close();
  }
}

runCommands('kiosk-store', HELP, { stats, audit, export: exportCommand, erase });
