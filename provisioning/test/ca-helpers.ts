import { webcrypto } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKioskError } from '@kiosk/common';
import { x509 } from '../src/ca/x509.js';

/** Test helpers: a fresh CA folder, and CSRs made with real keys (P-256, RSA) the way a device would. */

export function tempCaDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'dev-ca-')), 'ca');
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCsr {
  der: Buffer;
  /** PKCS#8 PEM of the key, for the TLS client that proves it later. */
  keyPem: string;
}

export async function makeCsr(subject = 'CN=some-device', kind: 'p256' | 'rsa1024' = 'p256'): Promise<TestCsr> {
  const algorithm = kind === 'p256' ? P256 : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: algorithm });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { der: Buffer.from(csr.rawData), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n` };
}

/** The same request with one bit of its signature flipped: still well-formed DER, no longer a valid signature. */
export function withBadSignature(der: Buffer): Buffer {
  const copy = Buffer.from(der);
  copy[copy.length - 3]! ^= 0x01;
  return copy;
}

export const HOUR = 3_600_000;
/** Fixed fast-check seed: the same cases on every run. */
export const SEED = 15_05;

/** The code of the typed error a promise is refused with; anything else fails the test. */
export async function refusalCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isKioskError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}
