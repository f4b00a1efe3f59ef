import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomFillSync } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import { type Db, sql } from './database.js';
import type { KeyProvider } from './key-provider.js';

/**
 * Field-level AES-256-GCM for personal data. A sealed field is `01 | key id (u32 BE) | IV (12) | tag (16) | ciphertext`;
 * the key id names the data key, so rows written before a rotation stay readable. The additional data binds a
 * ciphertext to its table, column and row: a sealed field copied into another row does not decrypt.
 */
const FORMAT = 1;
const HEADER = 1 + 4 + 12 + 16;

/**
 * Random bytes (IVs, the random part of transaction ids) come from a pool refilled 4 KiB at a time: one CSPRNG call
 * per 341 IVs instead of one per field (a tenth of the CPU of a bulk load went to per-IV calls; the uuid package's
 * default source, one getRandomValues per id, cost 11 µs an id). Same randomness, as Node's randomUUID does with
 * its own entropy cache; IVs are not secret, only never to repeat under one key, which 96 random bits ensure.
 */
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;
export function pooledRandom(n: number): Buffer {
  if (poolOffset + n > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  // A copy: the pool is overwritten on the next refill.
  return Buffer.from(POOL.subarray(poolOffset, (poolOffset += n)));
}

export function sealField(key: Buffer, keyId: number, plaintext: Buffer, aad: string): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(FORMAT, 0);
  header.writeUInt32BE(keyId, 1);
  const iv = pooledRandom(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

export function sealedKeyId(sealed: Buffer): number {
  if (sealed.length < HEADER || sealed[0] !== FORMAT) throw new KioskError('STORE_DECRYPT_FAILED', 'an encrypted field has an unknown format');
  return sealed.readUInt32BE(1);
}

export function openField(key: Buffer, sealed: Buffer, aad: string): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(5, 17)).setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(17, HEADER));
    return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]);
  } catch (cause) {
    throw new KioskError('STORE_DECRYPT_FAILED', `an encrypted field (${aad.split(':')[0]}) does not decrypt: altered or moved`, { cause });
  }
}

/** A data key and its id (the id goes into each sealed field's header). */
export interface DataKey {
  id: number;
  key: Buffer;
}

const INDEX_KEY_SETTING = 'citizen_index_key';

/**
 * The data keys of one database, unwrapped in memory, plus the key of the citizen index. The index key does not
 * rotate with the data keys (a rotation would otherwise have to rehash every row before search works again).
 */
export class Keyring {
  readonly #db: Db;
  readonly #provider: KeyProvider;
  readonly #keys = new Map<number, Buffer>();
  #indexKey: Buffer | undefined;

  constructor(db: Db, provider: KeyProvider) {
    this.#db = db;
    this.#provider = provider;
  }

  get description(): string {
    return this.#provider.description;
  }

  /** Creates the first data key and the index key on a new database (inside the caller's write transaction). */
  ensureKeys(now: number): void {
    if (!sql(this.#db, 'SELECT 1 FROM data_keys LIMIT 1').get()) this.addDataKey(now);
    if (!sql(this.#db, 'SELECT 1 FROM settings WHERE key = ?').get(INDEX_KEY_SETTING)) {
      sql(this.#db, 'INSERT INTO settings (key, value) VALUES (?, ?)').run(INDEX_KEY_SETTING, this.#provider.wrap(randomBytes(32)).toString('base64'));
    }
  }

  /** A new data key becomes the current one; returns its id. */
  addDataKey(now: number): number {
    const key = randomBytes(32);
    const id = Number(sql(this.#db, 'INSERT INTO data_keys (wrapped, created_at) VALUES (?, ?)').run(this.#provider.wrap(key), now).lastInsertRowid);
    this.#keys.set(id, key);
    return id;
  }

  /** The newest data key, read from the database so a rotation by the other process is seen at once. */
  current(): DataKey {
    const row = sql(this.#db, 'SELECT max(id) AS id FROM data_keys WHERE retired_at IS NULL').get() as { id: number | null };
    if (row.id === null) throw new KioskError('STORE_KEY_UNAVAILABLE', 'the store has no data key');
    return { id: row.id, key: this.key(row.id) };
  }

  key(id: number): Buffer {
    let key = this.#keys.get(id);
    if (!key) {
      const row = sql(this.#db, 'SELECT wrapped FROM data_keys WHERE id = ?').get(id) as { wrapped: Buffer } | undefined;
      if (!row) throw new KioskError('STORE_DECRYPT_FAILED', `data key ${id} does not exist (erased after rotation?)`);
      key = this.#provider.unwrap(row.wrapped);
      this.#keys.set(id, key);
    }
    return key;
  }

  /**
   * Seals under `current` (default: looked up now). A write transaction sealing several fields looks the key up once
   * and passes it: the other process cannot rotate the key while this one holds the write lock.
   */
  seal(value: unknown, aad: string, current: DataKey = this.current()): { sealed: Buffer; keyId: number } {
    const { id, key } = current;
    return { sealed: sealField(key, id, Buffer.from(JSON.stringify(value)), aad), keyId: id };
  }

  open(sealed: Buffer, aad: string): unknown {
    return JSON.parse(openField(this.key(sealedKeyId(sealed)), sealed, aad).toString('utf8')) as unknown;
  }

  /** Keyed hash of a citizen ID: equal IDs give equal hashes, and the hash reveals nothing without the key. */
  citizenHash(idNumber: string): Buffer {
    if (!/^(\d{12}|\d{9})$/.test(idNumber)) throw new KioskError('STORE_FIELD_REJECTED', 'a citizen ID number has 12 digits (CCCD) or 9 digits (old CMND)');
    if (!this.#indexKey) {
      const row = sql(this.#db, 'SELECT value FROM settings WHERE key = ?').get(INDEX_KEY_SETTING) as { value: string } | undefined;
      if (!row) throw new KioskError('STORE_KEY_UNAVAILABLE', 'the store has no citizen index key');
      this.#indexKey = this.#provider.unwrap(Buffer.from(row.value, 'base64'));
    }
    return createHmac('sha256', this.#indexKey).update(`citizen-id:${idNumber}`).digest();
  }
}
