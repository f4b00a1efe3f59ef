import Database from 'better-sqlite3';
import { KioskError } from '@kiosk/common';
import { migrate } from './migrations/index.js';

export type Db = Database.Database;

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, compiled once per connection: preparing on every call costs more than a commit's CPU. */
export function sql(db: Db, text: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map<string, Database.Statement>()));
  let statement = cache.get(text);
  if (!statement) cache.set(text, (statement = db.prepare(text)));
  return statement;
}

export interface OpenDatabaseOptions {
  /** Open without write access (CLI `stats`, `audit verify`, `export`, a read-only copy). Migrations do not run. */
  readonly?: boolean;
  /** Milliseconds a write waits for the other process's lock (kiosk service vs sync agent). */
  busyTimeoutMs?: number;
  /** Test hook: caps the database size in pages so SQLITE_FULL can be provoked for real. */
  maxPageCount?: number;
}

/** SQLite result codes (better-sqlite3 `SqliteError.code`) mapped to the store's stable error codes. */
export function toStoreError(err: unknown, what: string): unknown {
  if (err instanceof KioskError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const message = `${what}: ${(err as Error).message}`;
  if (code === 'SQLITE_FULL') return new KioskError('STORE_DISK_FULL', message, { cause: err, details: { sqlite: code } });
  if (code.startsWith('SQLITE_READONLY')) return new KioskError('STORE_READ_ONLY', message, { cause: err, details: { sqlite: code } });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return new KioskError('STORE_CORRUPT', message, { cause: err, details: { sqlite: code } });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new KioskError('STORE_BUSY', message, { cause: err, details: { sqlite: code } });
  if (code.startsWith('SQLITE_CANTOPEN')) return new KioskError('STORE_OPEN_FAILED', message, { cause: err, details: { sqlite: code } });
  return err;
}

/**
 * Opens the database with the pragmas every connection needs and, unless read-only, brings the schema to the latest
 * version. WAL lets the sync agent read while the kiosk writes; synchronous=FULL makes every commit survive a power
 * cut (fsync of the WAL at each commit); foreign keys keep outbox rows tied to their transaction; secure_delete
 * overwrites freed pages, so erased ciphertext does not linger in the file.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Db {
  let db: Db | undefined;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('secure_delete = ON');
    if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.trunc(options.maxPageCount)}`);
    if (!options.readonly) migrate(db);
    return db;
  } catch (err) {
    db?.close();
    const mapped = toStoreError(err, `cannot open store database ${path}`);
    if (mapped instanceof KioskError) throw mapped;
    throw new KioskError('STORE_OPEN_FAILED', `cannot open store database ${path}: ${(err as Error).message}`, { cause: err });
  }
}

type Runner = Database.Transaction<(fn: () => unknown) => unknown>;
const runners = new WeakMap<Db, Runner>();

/** Runs `fn` in one IMMEDIATE transaction (write lock taken up front, so no deadlock between the two processes). */
export function writeTransaction<T>(db: Db, what: string, fn: () => T): T {
  // One transaction wrapper per connection: building one per call (db.transaction(fn)) was 3 % of a record's CPU.
  let run = runners.get(db);
  if (!run) runners.set(db, (run = db.transaction((body: () => unknown) => body())));
  try {
    return run.immediate(fn) as T;
  } catch (err) {
    throw toStoreError(err, what);
  }
}

export function integrityCheck(db: Db): string[] {
  return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
}
