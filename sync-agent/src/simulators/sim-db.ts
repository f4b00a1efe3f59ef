import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** One accepted delivery as the simulator holds it: what a checker needs for exactly-once and per-stream order. */
export interface DeliveryRecord {
  /** Arrival order of accepted deliveries in this simulator, from 1 (never reused after a restore). */
  arrival: number;
  idempotencyKey: string;
  deviceId: string;
  stream: string;
  seq: number;
  /** SHA-256 of the request body (canonical JSON as received): a resend with another body is refused. */
  bodyHash: string;
  receivedAt: string;
}

export interface StoredDelivery extends DeliveryRecord {
  status: number;
  receipt: unknown;
  ref?: string | undefined;
  meta?: Record<string, string> | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deliveries (
  arrival INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  receipt TEXT NOT NULL,
  received_at TEXT NOT NULL,
  -- What a later lookup finds the delivery by (the city's tracking code), and what it answers (never personal data).
  ref TEXT,
  meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS deliveries_device ON deliveries (device_id);
CREATE INDEX IF NOT EXISTS deliveries_ref ON deliveries (ref);
-- FHIR resources of the hospital simulator, keyed by their identifier (system|value) for conditional create.
CREATE TABLE IF NOT EXISTS fhir_resources (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  identifier TEXT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (type, identifier)
);
`;

interface Row {
  arrival: number;
  idempotency_key: string;
  device_id: string;
  stream: string;
  seq: number;
  body_hash: string;
  status: number;
  receipt: string;
  received_at: string;
  ref: string | null;
  meta: string;
}

const toRecord = (r: Row): StoredDelivery => ({
  arrival: r.arrival,
  idempotencyKey: r.idempotency_key,
  deviceId: r.device_id,
  stream: r.stream,
  seq: r.seq,
  bodyHash: r.body_hash,
  receivedAt: r.received_at,
  status: r.status,
  receipt: JSON.parse(r.receipt) as unknown,
  ref: r.ref ?? undefined,
  meta: JSON.parse(r.meta) as Record<string, string>,
});

/**
 * A simulator's own SQLite file (WAL, synchronous=FULL): a delivery is committed before it is acknowledged, so a
 * restart keeps everything the simulator ever answered 201 to, and the idempotency key's uniqueness is the dedupe.
 */
export class SimulatorDb {
  private readonly db: Database.Database;
  /** Prepared once per SQL text: the simulator runs the same few statements for every request. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly heldPerDevice = new Map<string, number>();
  private group: Array<{ fn: () => unknown; resolve: (value: unknown) => void; reject: (err: unknown) => void }> = [];

  constructor(path: string, options: { readonly?: boolean } = {}) {
    if (!options.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { readonly: options.readonly === true, fileMustExist: options.readonly === true });
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    }
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  find(idempotencyKey: string): StoredDelivery | undefined {
    const row = this.sql('SELECT * FROM deliveries WHERE idempotency_key = ?').get(idempotencyKey) as Row | undefined;
    return row && toRecord(row);
  }

  /** Runs `fn` in one SQLite transaction (IMMEDIATE): the delivery and what it created commit together or not at all. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.heldPerDevice.clear(); // what it inserted is rolled back
      throw err;
    }
  }

  /**
   * Group commit: `fn` runs in its own savepoint inside one transaction shared with the other deliveries that
   * arrived in the same turn of the event loop, and resolves only after that transaction is committed (one fsync for
   * the group instead of one each). Durable per acknowledgement as before: nothing is answered before its commit; a
   * `fn` that throws rolls back only its own savepoint and rejects alone.
   */
  transactionGrouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.group.length === 0) setImmediate(() => this.commitGroup());
      this.group.push({ fn, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private commitGroup(): void {
    const group = this.group;
    this.group = [];
    if (group.length === 0) return;
    let outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>;
    try {
      outcomes = this.transaction(() =>
        group.map(({ fn }) => {
          try {
            return { ok: true as const, value: this.transaction(fn) };
          } catch (err) {
            return { ok: false as const, err };
          }
        }),
      );
    } catch (err) {
      // The commit itself failed (disk, closed database): nothing of the group is held, none is acknowledged.
      for (const { reject } of group) reject(err);
      return;
    }
    group.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.err);
    });
  }

  insert(record: Omit<StoredDelivery, 'arrival'>): number {
    const info = this.db
      .prepare('INSERT INTO deliveries (idempotency_key, device_id, stream, seq, body_hash, status, receipt, received_at, ref, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(record.idempotencyKey, record.deviceId, record.stream, record.seq, record.bodyHash, record.status, JSON.stringify(record.receipt), record.receivedAt, record.ref ?? null, JSON.stringify(record.meta ?? {}));
    const counted = this.heldPerDevice.get(record.deviceId);
    if (counted !== undefined) this.heldPerDevice.set(record.deviceId, counted + 1);
    return Number(info.lastInsertRowid);
  }

  /** The next arrival number, for receipts that carry it (stable: AUTOINCREMENT never reuses one). */
  nextArrival(): number {
    const row = this.sql("SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'").get() as { seq: number } | undefined;
    return (row?.seq ?? 0) + 1;
  }

  findByRef(ref: string): StoredDelivery | undefined {
    const row = this.sql('SELECT * FROM deliveries WHERE ref = ?').get(ref) as Row | undefined;
    return row && toRecord(row);
  }

  /**
   * Deliveries held from `deviceId`, answered with every acknowledgement: counted once, then kept up to date by
   * `insert` (counting the index on every request grows with the table: 100k deliveries made it quadratic). Any
   * rollback or restore drops the cache, so it never counts what is not held.
   */
  deviceCount(deviceId: string): number {
    let n = this.heldPerDevice.get(deviceId);
    if (n === undefined) this.heldPerDevice.set(deviceId, (n = (this.sql('SELECT count(*) AS n FROM deliveries WHERE device_id = ?').get(deviceId) as { n: number }).n));
    return n;
  }

  /** The keys among `keys` this simulator holds no delivery of from `deviceId`, in the order given. */
  unknownKeys(deviceId: string, keys: readonly string[]): string[] {
    const held = this.sql('SELECT 1 FROM deliveries WHERE idempotency_key = ? AND device_id = ?');
    return keys.filter((k) => held.get(k, deviceId) === undefined);
  }

  /** Deliveries held per device. */
  deviceCounts(): Record<string, number> {
    const rows = this.sql('SELECT device_id AS d, count(*) AS n FROM deliveries GROUP BY device_id ORDER BY device_id').all() as Array<{ d: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.d, r.n]));
  }

  records(): DeliveryRecord[] {
    const rows = this.sql('SELECT arrival, idempotency_key, device_id, stream, seq, body_hash, received_at FROM deliveries ORDER BY arrival').all() as Row[];
    return rows.map((r) => ({ arrival: r.arrival, idempotencyKey: r.idempotency_key, deviceId: r.device_id, stream: r.stream, seq: r.seq, bodyHash: r.body_hash, receivedAt: r.received_at }));
  }

  count(): number {
    return (this.sql('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
  }

  /** FHIR conditional create: the id of the resource with this identifier, creating it if there is none. */
  conditionalCreate(type: 'Patient' | 'Encounter', identifier: string, createdBy: string): { id: number; created: boolean } {
    const found = this.sql('SELECT id FROM fhir_resources WHERE type = ? AND identifier = ?').get(type, identifier) as { id: number } | undefined;
    if (found) return { id: found.id, created: false };
    const info = this.sql('INSERT INTO fhir_resources (type, identifier, created_by) VALUES (?, ?, ?)').run(type, identifier, createdBy);
    return { id: Number(info.lastInsertRowid), created: true };
  }

  fhirCount(type: 'Patient' | 'Encounter'): number {
    return (this.sql('SELECT count(*) AS n FROM fhir_resources WHERE type = ?').get(type) as { n: number }).n;
  }

  /**
   * "Restored from a backup taken N deliveries ago": the last N deliveries and everything they created are gone,
   * dedupe rows included, so their keys are unknown again and the per-device counts drop.
   */
  forgetLast(n: number): number {
    this.heldPerDevice.clear();
    return this.transaction(() => {
      const keys = (this.sql('SELECT idempotency_key AS k FROM deliveries ORDER BY arrival DESC LIMIT ?').all(n) as Array<{ k: string }>).map((r) => r.k);
      const dropResource = this.sql('DELETE FROM fhir_resources WHERE created_by = ?');
      const dropDelivery = this.sql('DELETE FROM deliveries WHERE idempotency_key = ?');
      for (const k of keys) {
        dropResource.run(k);
        dropDelivery.run(k);
      }
      return keys.length;
    });
  }

  close(): void {
    this.commitGroup();
    this.db.close();
  }
}
