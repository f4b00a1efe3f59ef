import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
// Default import: under plain Node ESM the addon's constants are not named exports (tsx and vitest hid that).
import pkcs11js from 'pkcs11js';
import type * as P11 from 'pkcs11js';
import { KioskError } from '@kiosk/common';

/** Debian's SoftHSM2; a TPM-backed token (tpm2-pkcs11) is another module path with the same calls. */
export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 module (shared library). */
  module: string;
  /** CKA_LABEL of the token (the `--label` given to `softhsm2-util --init-token`). */
  tokenLabel: string;
  /** User PIN: read it with `readPin`, never from argv. */
  pin: string;
}

export type KeyClass = 'private' | 'public' | 'secret';

const CLASS: Record<KeyClass, number> = { private: pkcs11js.CKO_PRIVATE_KEY, public: pkcs11js.CKO_PUBLIC_KEY, secret: pkcs11js.CKO_SECRET_KEY };
// DER OBJECT IDENTIFIERs for CKA_EC_PARAMS: prime256v1 (1.2.840.10045.3.1.7) and id-Ed25519 (1.3.101.112).
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');
// PKCS#11 3.0 mechanisms pkcs11js 2.1 has no constants for (values from the 3.0 header, pkcs11t.h).
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const GCM_IV_BYTES = 12;
const GCM_TAG_BITS = 128;

/** Attributes every generated private or secret key carries: made on the token, kept there, never readable. */
const NEVER_LEAVES = [
  { type: pkcs11js.CKA_TOKEN, value: true },
  { type: pkcs11js.CKA_PRIVATE, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
];

function fail(what: string, cause: unknown): KioskError {
  const code = cause instanceof pkcs11js.Pkcs11Error ? cause.code : undefined;
  const ckr = code === undefined ? String(cause) : `CKR 0x${code.toString(16)}`;
  return new KioskError('PKCS11_OPERATION_FAILED', `the PKCS#11 token failed to ${what} (${ckr})`, { cause, details: { operation: what, ckr: code } });
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40 §2.3.3); short form covers P-256 and Ed25519. */
function ecPointBytes(ecPoint: Buffer): Buffer {
  if (ecPoint[0] === 0x04 && ecPoint[1] === ecPoint.length - 2) return ecPoint.subarray(2);
  throw new KioskError('PKCS11_OPERATION_FAILED', `the token returned an EC point that is not a short DER OCTET STRING (${ecPoint.length} bytes)`);
}

/**
 * One logged-in read/write session on one PKCS#11 token. Private and secret keys are generated inside the token with
 * CKA_SENSITIVE true and CKA_EXTRACTABLE false, so every operation that needs them (sign, encrypt, decrypt) runs
 * on the token; only public keys come out. Keys are found by CKA_LABEL.
 */
export class Pkcs11Token {
  readonly #lib: P11.PKCS11;
  readonly #session: Buffer;
  readonly #ownsInit: boolean;
  readonly description: string;

  private constructor(lib: P11.PKCS11, session: Buffer, ownsInit: boolean, description: string) {
    this.#lib = lib;
    this.#session = session;
    this.#ownsInit = ownsInit;
    this.description = description;
  }

  static open(options: Pkcs11TokenOptions): Pkcs11Token {
    const lib = new pkcs11js.PKCS11();
    let ownsInit = true;
    try {
      lib.load(options.module);
      lib.C_Initialize();
    } catch (cause) {
      // The same module is already initialised in this process (OpenSSL's pkcs11 engine loaded it for TLS): share it,
      // and leave C_Finalize to its owner, which would otherwise lose its sessions.
      if (!(cause instanceof pkcs11js.Pkcs11Error && cause.code === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
        throw new KioskError('PKCS11_MODULE_UNAVAILABLE', `the PKCS#11 module ${options.module} cannot be loaded: ${(cause as Error).message}`, { cause, details: { module: options.module } });
      }
      ownsInit = false;
    }
    try {
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === options.tokenLabel);
      if (!slot) {
        throw new KioskError('PKCS11_MODULE_UNAVAILABLE', `no token labelled "${options.tokenLabel}" in ${options.module}: initialise it (softhsm2-util --init-token) or check provisioning.pkcs11.tokenLabel`, {
          details: { module: options.module, tokenLabel: options.tokenLabel },
        });
      }
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, options.pin);
      } catch (cause) {
        // Login state belongs to the application, not the session: the engine may have logged in already.
        const code = cause instanceof pkcs11js.Pkcs11Error ? cause.code : undefined;
        if (code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
          const locked = code === pkcs11js.CKR_PIN_LOCKED ? ': the PIN is locked, the security officer must unblock it' : '';
          throw new KioskError('PKCS11_LOGIN_FAILED', `token "${options.tokenLabel}" refused the PIN${locked}`, { cause, details: { tokenLabel: options.tokenLabel } });
        }
      }
      return new Pkcs11Token(lib, session, ownsInit, `PKCS#11 token "${options.tokenLabel}" (${options.module})`);
    } catch (err) {
      if (ownsInit) lib.C_Finalize();
      throw err;
    }
  }

  /** Closes the session; logs out and finalises only a module this token initialised (see `open`). */
  close(): void {
    try {
      if (this.#ownsInit) this.#lib.C_Logout(this.#session);
      this.#lib.C_CloseSession(this.#session);
    } finally {
      if (this.#ownsInit) this.#lib.C_Finalize();
      this.#lib.close();
    }
  }

  /** The key with this label and class, or undefined. */
  find(label: string, kind: KeyClass): Buffer | undefined {
    const lib = this.#lib;
    lib.C_FindObjectsInit(this.#session, [{ type: pkcs11js.CKA_CLASS, value: CLASS[kind] }, { type: pkcs11js.CKA_LABEL, value: label }]);
    try {
      return lib.C_FindObjects(this.#session) ?? undefined;
    } finally {
      lib.C_FindObjectsFinal(this.#session);
    }
  }

  /** Like `find`, but a missing key is a typed error naming the label. */
  get(label: string, kind: KeyClass): Buffer {
    const key = this.find(label, kind);
    if (!key) throw new KioskError('PKCS11_KEY_NOT_FOUND', `no ${kind} key labelled "${label}" on ${this.description}`, { details: { label, kind } });
    return key;
  }

  /** A P-256 key pair generated inside the token (the device identity key). `id` is CKA_ID, shared by both halves. */
  generateP256(label: string, id: Buffer): void {
    this.#generatePair(label, id, pkcs11js.CKM_EC_KEY_PAIR_GEN, P256_PARAMS, 'generate a P-256 key pair');
  }

  /** An Ed25519 key pair generated inside the token (SoftHSM2 >= 2.6, CKM_EC_EDWARDS_KEY_PAIR_GEN). */
  generateEd25519(label: string, id: Buffer): void {
    this.#generatePair(label, id, CKM_EC_EDWARDS_KEY_PAIR_GEN, ED25519_PARAMS, 'generate an Ed25519 key pair');
  }

  #generatePair(label: string, id: Buffer, mechanism: number, params: Buffer, what: string): void {
    const common = [{ type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id }];
    try {
      this.#lib.C_GenerateKeyPair(
        this.#session,
        { mechanism },
        [...common, { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: params }],
        [...common, ...NEVER_LEAVES, { type: pkcs11js.CKA_SIGN, value: true }],
      );
    } catch (cause) {
      throw fail(what, cause);
    }
  }

  /** An AES-256 key generated inside the token, for encrypt/decrypt only. */
  generateAes256(label: string): void {
    try {
      this.#lib.C_GenerateKey(this.#session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        ...NEVER_LEAVES,
      ]);
    } catch (cause) {
      throw fail('generate an AES-256 key', cause);
    }
  }

  /** The public half of the key pair labelled `label`, from CKA_EC_PARAMS and CKA_EC_POINT. */
  publicKey(label: string): KeyObject {
    const [params, point] = this.#lib.C_GetAttributeValue(this.#session, this.get(label, 'public'), [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]).map((a) => a.value);
    const raw = ecPointBytes(point!);
    if (params!.equals(ED25519_PARAMS)) return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    if (!params!.equals(P256_PARAMS) || raw.length !== 65 || raw[0] !== 0x04) throw new KioskError('PKCS11_OPERATION_FAILED', `key "${label}" is neither P-256 nor Ed25519`, { details: { label } });
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
  }

  /** ECDSA P-256 over SHA-256 of `data`, on the token: the signature is r || s (64 bytes), as WebCrypto returns it. */
  signEcdsaSha256(label: string, data: Buffer): Buffer {
    // CKM_ECDSA over a host-side digest: every token has it, CKM_ECDSA_SHA256 not all (TPM tokens differ).
    return this.#sign(label, pkcs11js.CKM_ECDSA, createHash('sha256').update(data).digest(), 64);
  }

  /** Pure Ed25519 (CKM_EDDSA without parameters) on the token: verifies with Node's `verify(null, ...)`. */
  signEd25519(label: string, data: Buffer): Buffer {
    return this.#sign(label, CKM_EDDSA, data, 64);
  }

  #sign(label: string, mechanism: number, data: Buffer, size: number): Buffer {
    const key = this.get(label, 'private');
    try {
      this.#lib.C_SignInit(this.#session, { mechanism }, key);
      return Buffer.from(this.#lib.C_Sign(this.#session, data, Buffer.alloc(size)));
    } catch (cause) {
      throw fail(`sign with "${label}"`, cause);
    }
  }

  /** AES-256-GCM on the token; the result is iv || ciphertext || tag. */
  encryptAesGcm(label: string, plain: Buffer, iv: Buffer, aad: Buffer): Buffer {
    const key = this.get(label, 'secret');
    try {
      this.#lib.C_EncryptInit(this.#session, this.#gcm(iv, aad), key);
      return Buffer.concat([iv, this.#lib.C_Encrypt(this.#session, plain, Buffer.alloc(plain.length + GCM_TAG_BITS / 8))]);
    } catch (cause) {
      throw fail(`encrypt with "${label}"`, cause);
    }
  }

  /** Inverse of `encryptAesGcm`; a wrong key or altered input fails the tag check on the token. */
  decryptAesGcm(label: string, sealed: Buffer, aad: Buffer): Buffer {
    const key = this.get(label, 'secret');
    try {
      this.#lib.C_DecryptInit(this.#session, this.#gcm(sealed.subarray(0, GCM_IV_BYTES), aad), key);
      const body = sealed.subarray(GCM_IV_BYTES);
      return Buffer.from(this.#lib.C_Decrypt(this.#session, body, Buffer.alloc(body.length)));
    } catch (cause) {
      throw fail(`decrypt with "${label}"`, cause);
    }
  }

  #gcm(iv: Buffer, aad: Buffer): P11.Mechanism {
    const parameter: P11.AesGCM = { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad, ivBits: iv.length * 8, tagBits: GCM_TAG_BITS };
    return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
  }

  /** CKA_SENSITIVE, CKA_EXTRACTABLE and CKA_TOKEN of a private or secret key: what the tests and `status` check. */
  protection(label: string, kind: Exclude<KeyClass, 'public'>): { sensitive: boolean; extractable: boolean; onToken: boolean } {
    const attrs = this.#lib.C_GetAttributeValue(this.#session, this.get(label, kind), [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_TOKEN }]);
    const flag = (i: number): boolean => (attrs[i]!.value)[0] === 1;
    return { sensitive: flag(0), extractable: flag(1), onToken: flag(2) };
  }

  /** Asks the token for CKA_VALUE (the key material): for the tests that prove it refuses. */
  readKeyValue(label: string, kind: Exclude<KeyClass, 'public'>): Buffer {
    const [value] = this.#lib.C_GetAttributeValue(this.#session, this.get(label, kind), [{ type: pkcs11js.CKA_VALUE }]);
    return value!.value;
  }
}
