import { randomBytes } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import type { CheckpointSigner, KeyProvider } from '@kiosk/store';
import type { Pkcs11Token } from './token.js';

const WRAP_AAD = Buffer.from('kiosk-store data key v1');

/**
 * The store's data-key wrapping key as an AES-256 key inside the token: wrap and unwrap are AES-256-GCM done by the
 * token, so the database and the disk together still reveal no data key without the token and its PIN.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly description: string;

  /** `create`: generate the key on first use (provisioning); otherwise a missing key is PKCS11_KEY_NOT_FOUND. */
  constructor(
    private readonly token: Pkcs11Token,
    private readonly label: string,
    options: { create?: boolean } = {},
  ) {
    if (options.create && !token.find(label, 'secret')) token.generateAes256(label);
    token.get(label, 'secret');
    this.description = `AES key "${label}" on ${token.description}`;
  }

  wrap(dataKey: Buffer): Buffer {
    return this.token.encryptAesGcm(this.label, dataKey, randomBytes(12), WRAP_AAD);
  }

  unwrap(wrapped: Buffer): Buffer {
    try {
      return this.token.decryptAesGcm(this.label, wrapped, WRAP_AAD);
    } catch (cause) {
      // The store's contract (as FileKeyProvider): a data key that does not unwrap is an unavailable key.
      throw new KioskError('STORE_KEY_UNAVAILABLE', `a data key does not unwrap with ${this.description} (a different token or key?)`, { cause });
    }
  }
}

/**
 * Audit checkpoints signed with an Ed25519 key inside the token (CKM_EDDSA, SoftHSM2 2.6): the same algorithm as
 * `FileCheckpointSigner`, so `verifyAudit` checks both with one code path.
 */
export class Pkcs11CheckpointSigner implements CheckpointSigner {
  readonly publicKeyPem: string;

  constructor(
    private readonly token: Pkcs11Token,
    private readonly label: string,
    options: { create?: boolean; id?: Buffer } = {},
  ) {
    if (options.create && !token.find(label, 'private')) token.generateEd25519(label, options.id ?? Buffer.from(label));
    token.get(label, 'private');
    this.publicKeyPem = token.publicKey(label).export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(message: Buffer): Buffer {
    return this.token.signEd25519(this.label, message);
  }
}
