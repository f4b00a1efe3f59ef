import { createCipheriv, createDecipheriv } from 'node:crypto';
import { cmac } from '@noble/ciphers/aes.js';

/**
 * AES as eMRTD PACE and AES secure messaging use it (ICAO 9303-11 §9.8.6.2, BSI TR-03110-3): CBC without padding
 * (callers pad), AES-CMAC truncated to 8 bytes, and the secure-messaging IV derived from the send sequence counter.
 */
export const AES_BLOCK_SIZE = 16;

function mode(key: Uint8Array, kind: 'cbc' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError(`an AES key has 16, 24 or 32 bytes, got ${key.length}`);
  return `aes-${key.length * 8}-${kind}`;
}

function assertAligned(data: Uint8Array): void {
  if (data.length % AES_BLOCK_SIZE !== 0) throw new RangeError(`AES input of ${data.length} bytes is not a multiple of 16`);
}

function run(cipher: ReturnType<typeof createCipheriv> | ReturnType<typeof createDecipheriv>, data: Uint8Array): Uint8Array {
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  assertAligned(data);
  return run(createCipheriv(mode(key, 'cbc'), key, iv), data);
}

export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  assertAligned(data);
  return run(createDecipheriv(mode(key, 'cbc'), key, iv), data);
}

/** Full 16-byte AES-CMAC (RFC 4493 / NIST SP 800-38B). */
export function aesCmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  mode(key, 'cbc');
  return cmac(data, key);
}

/** The 8-byte truncation eMRTD uses for secure-messaging MACs and PACE authentication tokens. */
export function aesCmac8(key: Uint8Array, data: Uint8Array): Uint8Array {
  return aesCmac(key, data).slice(0, 8);
}

/** AES secure messaging encrypts each message with IV = AES-ECB(K_enc, SSC), SSC being 16 bytes. */
export function aesSmIv(kEnc: Uint8Array, ssc: Uint8Array): Uint8Array {
  if (ssc.length !== AES_BLOCK_SIZE) throw new RangeError(`an AES send sequence counter has 16 bytes, got ${ssc.length}`);
  return run(createCipheriv(mode(kEnc, 'ecb'), kEnc, null), ssc);
}
