import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { KioskConfig } from '@kiosk/common';
import { EC_P256, x509 } from '../ca/x509.js';
import { createTokenCsr } from '../pkcs11/csr.js';
import { readPin } from '../pkcs11/pin.js';
import { Pkcs11Token } from '../pkcs11/token.js';
import { writeAtomic } from './files.js';

/** CKA_LABELs of the device's keys on a PKCS#11 token. */
export const TOKEN_LABELS = { device: 'kiosk-device', storeWrap: 'kiosk-store-wrap' } as const;

export type Pkcs11Config = KioskConfig['provisioning']['pkcs11'];

export function openToken(pkcs11: Pkcs11Config): Pkcs11Token {
  return Pkcs11Token.open({ module: pkcs11.module, tokenLabel: pkcs11.tokenLabel, pin: readPin(pkcs11.pinFile || undefined) });
}

function withToken<T>(pkcs11: Pkcs11Config, use: (token: Pkcs11Token) => T): T {
  const token = openToken(pkcs11);
  try {
    return use(token);
  } finally {
    token.close();
  }
}

/** Creates the device identity key P-256 if missing: inside the token (never exported), or as a 0600 PEM file. */
export function ensureDeviceKey(config: KioskConfig): string {
  const { pkcs11 } = config.provisioning;
  if (pkcs11.tokenLabel) {
    return withToken(pkcs11, (token) => {
      if (!token.find(TOKEN_LABELS.device, 'private')) token.generateP256(TOKEN_LABELS.device, Buffer.from(TOKEN_LABELS.device));
      return `"${TOKEN_LABELS.device}" on ${token.description}`;
    });
  }
  const path = config.sync.clientKey;
  if (!existsSync(path)) writeAtomic(path, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
  return path;
}

/** A PKCS#10 request signed by the device key (by the token when the key is there); the CA sets the subject. */
export async function deviceCsr(config: KioskConfig, subject: string): Promise<Buffer> {
  const { pkcs11 } = config.provisioning;
  if (pkcs11.tokenLabel) {
    const token = openToken(pkcs11);
    try {
      return Buffer.from((await createTokenCsr(token, { keyLabel: TOKEN_LABELS.device, subject })).rawData);
    } finally {
      token.close();
    }
  }
  const key = createPrivateKey(readFileSync(config.sync.clientKey));
  const privateKey = await webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), EC_P256, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', createPublicKey(key).export({ type: 'spki', format: 'der' }), EC_P256, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys: { privateKey, publicKey }, signingAlgorithm: EC_P256 });
  return Buffer.from(csr.rawData);
}
