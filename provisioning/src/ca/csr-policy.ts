import { createPublicKey } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import { x509 } from './x509.js';

/**
 * The development CA's policy on what a device sends: a base64 PKCS#10 request whose signature verifies with an
 * ECDSA P-256 key. Only the key is taken from it; the subject comes from the token or the current certificate.
 */

/** Generous for a P-256 CSR (about 600 base64 characters), small enough that a flood cannot cost memory. */
export const CSR_BODY_LIMIT = 16 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** RFC 7030 bodies are base64 with line breaks (Content-Transfer-Encoding: base64); anything else is refused. */
export function decodeBase64Body(body: unknown, what: string): Buffer {
  const text = typeof body === 'string' ? body.replace(/\s+/g, '') : Buffer.isBuffer(body) ? body.toString('latin1').replace(/\s+/g, '') : '';
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new KioskError('PROVISION_CSR_MALFORMED', `the ${what} is not base64 text (RFC 7030 sends the DER base64-encoded)`);
  }
  return Buffer.from(text, 'base64');
}

export interface CheckedCsr {
  publicKey: x509.PublicKey;
}

export async function checkCsr(der: Uint8Array): Promise<CheckedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (err) {
    throw new KioskError('PROVISION_CSR_MALFORMED', 'the body is not a PKCS#10 certificate request', { cause: err });
  }
  const key = (() => {
    try {
      return createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    } catch (err) {
      throw new KioskError('PROVISION_CSR_MALFORMED', 'the certificate request carries a public key that cannot be read', { cause: err });
    }
  })();
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') {
    const found = key.asymmetricKeyType === 'rsa' ? `RSA-${details.modulusLength ?? '?'}` : `${key.asymmetricKeyType ?? 'unknown'} ${details.namedCurve ?? ''}`.trim();
    throw new KioskError('PROVISION_CSR_WEAK_KEY', `the certificate request carries a ${found} key; this CA issues only for ECDSA P-256 keys`, { details: { key: found } });
  }
  let valid: boolean;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new KioskError('PROVISION_CSR_SIGNATURE', "the certificate request's signature does not verify with its own public key");
  return { publicKey: csr.publicKey };
}
