// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

/** WebCrypto's key type, named here because the project compiles without the DOM library. */
export type CryptoKey = webcrypto.CryptoKey;

export { x509 };

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** SHA-256 of the DER, colon-separated upper-case hex: what `openssl x509 -fingerprint -sha256` prints. */
export function fingerprint256(der: ArrayBuffer | Uint8Array): string {
  const hex = createHash('sha256').update(new Uint8Array(der)).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

/** Accepts a fingerprint typed any common way (colons, spaces, lower case) and gives the canonical form. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[\s:]/g, '').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

/** RFC 7030's certs-only CMS (a degenerate SignedData) holding `certificates`, as base64 lines of 64. */
export function certsOnlyBase64(certificates: x509.X509Certificate[]): string {
  const der = Buffer.from(new x509.X509Certificates(certificates).export('raw'));
  return `${der.toString('base64').replace(/.{64}/g, '$&\n')}\n`;
}
