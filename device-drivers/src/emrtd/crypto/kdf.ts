import { createHash } from 'node:crypto';
import { concatBytes } from '../../encoding/bytes.js';
import { adjustDesParity } from './des.js';

/** Block ciphers eMRTD access control and secure messaging key: 2-key 3DES or AES with 128/192/256-bit keys. */
export type KeyAlgorithm = '3DES' | 'AES-128' | 'AES-192' | 'AES-256';

/** Counter values of the ICAO KDF (ICAO 9303-11 §9.7.1). */
export const KDF_ENC = 1;
export const KDF_MAC = 2;
export const KDF_PACE = 3;

/**
 * ICAO 9303-11 §9.7.1: keydata = H(shared secret || counter as 32-bit big-endian). SHA-1 serves 3DES and AES-128,
 * SHA-256 serves AES-192/256; the key is the first 16/16/24/32 bytes, and 3DES keys get odd parity.
 */
export function deriveKey(secret: Uint8Array, algorithm: KeyAlgorithm, counter: number): Uint8Array {
  const counterBytes = new Uint8Array(4);
  new DataView(counterBytes.buffer).setUint32(0, counter);
  const hash = algorithm === 'AES-192' || algorithm === 'AES-256' ? 'sha256' : 'sha1';
  const digest = new Uint8Array(createHash(hash).update(concatBytes(secret, counterBytes)).digest());
  switch (algorithm) {
    case '3DES':
      return adjustDesParity(digest.slice(0, 16));
    case 'AES-128':
      return digest.slice(0, 16);
    case 'AES-192':
      return digest.slice(0, 24);
    case 'AES-256':
      return digest;
  }
}
