import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it loaded first
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Pkcs11Token } from './token.js';

export interface TokenCsrOptions {
  /** Label of the P-256 key pair on the token. */
  keyLabel: string;
  /** Subject as an X.500 string, e.g. `CN=KIOSK-0001, OU=HCM-Q1`. */
  subject: string;
  extensions?: x509.Extension[];
}

type CryptoKey = webcrypto.CryptoKey;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * A PKCS#10 request for the token's P-256 key, signed by the token. @peculiar/x509 asks its crypto provider to export
 * the public key and to sign; this provider exports the public key the token gives out and sends the signature to
 * the token, so the private key is never needed outside it. The private "CryptoKey" is only a handle naming the key.
 */
export async function createTokenCsr(token: Pkcs11Token, options: TokenCsrOptions): Promise<x509.Pkcs10CertificateRequest> {
  const spki = token.publicKey(options.keyLabel).export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, ECDSA_P256, true, ['verify']);
  const privateKey = { type: 'private', algorithm: ECDSA_P256, extractable: false, usages: ['sign'] } as unknown as CryptoKey;
  const subtle = {
    exportKey: (format: 'spki', key: CryptoKey) => webcrypto.subtle.exportKey(format, key),
    sign: (_algorithm: unknown, key: CryptoKey, data: ArrayBuffer) => {
      if (key !== privateKey) throw new Error('the token CSR provider signs only with its token key');
      return Promise.resolve(new Uint8Array(token.signEcdsaSha256(options.keyLabel, Buffer.from(data))).buffer);
    },
  };
  const crypto = { subtle, getRandomValues: webcrypto.getRandomValues.bind(webcrypto) } as unknown as webcrypto.Crypto;
  return x509.Pkcs10CertificateRequestGenerator.create(
    { name: options.subject, keys: { privateKey, publicKey }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: options.extensions ?? [] },
    crypto,
  );
}
