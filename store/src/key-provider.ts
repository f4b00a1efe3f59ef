import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KioskError } from '@kiosk/common';

/**
 * Holds the device key that wraps (encrypts) the store's data keys. The data keys live in the database only in wrapped
 * form, so the database file alone reveals nothing. `FileKeyProvider` keeps the device key in a 0600 file; a PKCS#11
 * provider (key on a token that never leaves it, wrap/unwrap done by the token) implements the same two methods.
 */
export interface KeyProvider {
  /** Names the provider and key in error messages and `stats` (never key material). */
  readonly description: string;
  wrap(dataKey: Buffer): Buffer;
  unwrap(wrapped: Buffer): Buffer;
}

/** Signs audit checkpoints. A PKCS#11 token implements it the same way (sign on the token). */
export interface CheckpointSigner {
  /** SPKI PEM of the public key, stored with each checkpoint so verification needs no secret. */
  readonly publicKeyPem: string;
  sign(message: Buffer): Buffer;
}

export interface KeyFileOptions {
  /** Create the file (0600, parent directory 0700) when it does not exist: first start of a device. */
  create?: boolean;
}

/**
 * Reads a secret file, refusing one that group or other may read or write: a key that others could have copied is
 * no longer a secret, and silently continuing would hide the provisioning mistake.
 */
function readSecretFile(path: string, what: string, create: (() => Buffer) | undefined): Buffer {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT' || !create) {
      throw new KioskError('STORE_KEY_UNAVAILABLE', `${what} ${path} cannot be read: ${(cause as Error).message}`, { cause });
    }
    const content = create();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key another process created a moment ago.
    writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
    return content;
  }
  if ((mode & 0o077) !== 0) {
    throw new KioskError('STORE_KEY_UNAVAILABLE', `${what} ${path} has mode ${(mode & 0o777).toString(8)}: group/other may access it; it must be 0600`, { details: { mode: (mode & 0o777).toString(8) } });
  }
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new KioskError('STORE_KEY_UNAVAILABLE', `${what} ${path} cannot be read: ${(cause as Error).message}`, { cause });
  }
}

const WRAP_IV = 12;
const WRAP_TAG = 16;
const WRAP_AAD = Buffer.from('kiosk-store data key v1');

/** The device key as 32 random bytes in a 0600 file; data keys are wrapped with AES-256-GCM. */
export class FileKeyProvider implements KeyProvider {
  readonly description: string;
  readonly #key: Buffer;

  constructor(path: string, options: KeyFileOptions = {}) {
    this.#key = readSecretFile(path, 'store key file', options.create ? () => randomBytes(32) : undefined);
    if (this.#key.length !== 32) throw new KioskError('STORE_KEY_UNAVAILABLE', `store key file ${path} holds ${this.#key.length} bytes, not 32`);
    this.description = `key file ${path}`;
  }

  wrap(dataKey: Buffer): Buffer {
    const iv = randomBytes(WRAP_IV);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(WRAP_AAD);
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  unwrap(wrapped: Buffer): Buffer {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, wrapped.subarray(0, WRAP_IV)).setAAD(WRAP_AAD);
      decipher.setAuthTag(wrapped.subarray(WRAP_IV, WRAP_IV + WRAP_TAG));
      return Buffer.concat([decipher.update(wrapped.subarray(WRAP_IV + WRAP_TAG)), decipher.final()]);
    } catch (cause) {
      throw new KioskError('STORE_KEY_UNAVAILABLE', `a data key does not unwrap with ${this.description} (a different device key?)`, { cause });
    }
  }
}

/** Ed25519 signing key in a 0600 PKCS#8 PEM file. */
export class FileCheckpointSigner implements CheckpointSigner {
  readonly publicKeyPem: string;
  readonly #key: KeyObject;

  constructor(path: string, options: KeyFileOptions = {}) {
    const pem = readSecretFile(path, 'audit signing key file', options.create ? () => Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' })) : undefined);
    try {
      this.#key = createPrivateKey(pem);
    } catch (cause) {
      throw new KioskError('STORE_KEY_UNAVAILABLE', `audit signing key file ${path} is not a PEM private key`, { cause });
    }
    if (this.#key.asymmetricKeyType !== 'ed25519') throw new KioskError('STORE_KEY_UNAVAILABLE', `audit signing key file ${path} holds a ${this.#key.asymmetricKeyType} key, not Ed25519`);
    this.publicKeyPem = createPublicKey(this.#key).export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(message: Buffer): Buffer {
    return sign(null, message, this.#key);
  }
}
