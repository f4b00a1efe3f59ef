import { AES_BLOCK_SIZE, aesCbcDecrypt, aesCbcEncrypt, aesCmac8, aesSmIv } from '../crypto/aes.js';
import { DES_BLOCK_SIZE, retailMac, tdesCbcDecrypt, tdesCbcEncrypt } from '../crypto/des.js';
import type { KeyAlgorithm } from '../crypto/kdf.js';
import { pad } from '../crypto/padding.js';

/**
 * The cipher of a secure-messaging session with its keys bound (ICAO 9303-11 §9.8.6): 3DES with an 8-byte send
 * sequence counter and IV 0, or AES with a 16-byte SSC and IV = E(K_enc, SSC). The SSC length is the block size.
 */
export interface SmCipherSuite {
  readonly algorithm: KeyAlgorithm;
  readonly blockSize: number;
  /** Encrypts already padded data for the message numbered `ssc`. */
  encrypt(ssc: Uint8Array, data: Uint8Array): Uint8Array;
  decrypt(ssc: Uint8Array, data: Uint8Array): Uint8Array;
  /** 8-byte MAC over `data` padded with ISO/IEC 9797-1 method 2 (AES too: chips answer 6988 to unpadded input). */
  mac(data: Uint8Array): Uint8Array;
}

const KEY_LENGTH: Record<KeyAlgorithm, number> = { '3DES': 16, 'AES-128': 16, 'AES-192': 24, 'AES-256': 32 };

export function createCipherSuite(algorithm: KeyAlgorithm, kEnc: Uint8Array, kMac: Uint8Array): SmCipherSuite {
  if (kEnc.length !== KEY_LENGTH[algorithm] || kMac.length !== KEY_LENGTH[algorithm]) {
    throw new RangeError(`${algorithm} session keys have ${KEY_LENGTH[algorithm]} bytes, got ${kEnc.length} and ${kMac.length}`);
  }
  if (algorithm === '3DES') {
    const zeroIv = new Uint8Array(DES_BLOCK_SIZE);
    return {
      algorithm,
      blockSize: DES_BLOCK_SIZE,
      encrypt: (_ssc, data) => tdesCbcEncrypt(kEnc, zeroIv, data),
      decrypt: (_ssc, data) => tdesCbcDecrypt(kEnc, zeroIv, data),
      mac: (data) => retailMac(kMac, data),
    };
  }
  return {
    algorithm,
    blockSize: AES_BLOCK_SIZE,
    encrypt: (ssc, data) => aesCbcEncrypt(kEnc, aesSmIv(kEnc, ssc), data),
    decrypt: (ssc, data) => aesCbcDecrypt(kEnc, aesSmIv(kEnc, ssc), data),
    mac: (data) => aesCmac8(kMac, pad(data, AES_BLOCK_SIZE)),
  };
}
