import { createCipheriv, createDecipheriv } from 'node:crypto';
import { pad } from './padding.js';

/**
 * Two-key triple DES as eMRTD BAC and 3DES secure messaging use it (ICAO 9303-11 §9.8.6.1): keys are 16 bytes
 * Ka || Kb (K3 = Ka), CBC without padding (callers pad), and the ISO/IEC 9797-1 MAC algorithm 3 "retail MAC".
 */
export const DES_BLOCK_SIZE = 8;

function assertKey(key: Uint8Array): void {
  if (key.length !== 16) throw new RangeError(`a 2-key 3DES key has 16 bytes, got ${key.length}`);
}

function assertAligned(data: Uint8Array): void {
  if (data.length % DES_BLOCK_SIZE !== 0) throw new RangeError(`3DES input of ${data.length} bytes is not a multiple of 8`);
}

function run(cipher: ReturnType<typeof createCipheriv> | ReturnType<typeof createDecipheriv>, data: Uint8Array): Uint8Array {
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

/** Sets each byte's lowest bit so the byte has an odd number of 1 bits (DES key parity). */
export function adjustDesParity(key: Uint8Array): Uint8Array {
  return key.map((b) => {
    let ones = 0;
    for (let v = b >> 1; v > 0; v >>= 1) ones += v & 1;
    return (b & 0xfe) | (ones % 2 === 0 ? 1 : 0);
  });
}

export function tdesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  assertKey(key);
  assertAligned(data);
  return run(createCipheriv('des-ede-cbc', key, iv), data);
}

export function tdesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  assertKey(key);
  assertAligned(data);
  return run(createDecipheriv('des-ede-cbc', key, iv), data);
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3 with padding method 2 (8-byte MAC): single-DES CBC with Ka over all blocks but
 * the last, then the last block through 3DES (Ka, Kb, Ka). That final step equals the standard's "decrypt with Kb,
 * encrypt with Ka" on the single-DES chain. OpenSSL 3 has no plain DES, so single DES is 3DES with Ka || Ka.
 */
export function retailMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  assertKey(key);
  const padded = pad(data, DES_BLOCK_SIZE);
  const ka = key.subarray(0, 8);
  const split = padded.length - DES_BLOCK_SIZE;
  let chain = new Uint8Array(DES_BLOCK_SIZE);
  if (split > 0) {
    const singleDesKey = Buffer.concat([ka, ka]);
    chain = tdesCbcEncrypt(singleDesKey, chain, padded.subarray(0, split)).slice(split - DES_BLOCK_SIZE);
  }
  const last = padded.subarray(split).map((b, i) => b ^ (chain[i] as number));
  return run(createCipheriv('des-ede', key, null), last);
}
