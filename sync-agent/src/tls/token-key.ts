import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { KioskError } from '@kiosk/common';
import { loadCertificateAndCa, type ClientCertificateInfo, type ClientTlsFiles } from './client-tls.js';

/** Where Debian's libengine-pkcs11-openssl (libp11) puts the engine `pkcs11`, which signs with a key on a token. */
export const DEFAULT_ENGINES_DIR = '/usr/lib/x86_64-linux-gnu/engines-3';

/** Where the client key lives when it is on a PKCS#11 token instead of in a file. */
export interface TokenKey {
  /** PKCS#11 module the engine loads (libp11 reads it from PKCS11_MODULE_PATH). */
  module: string;
  tokenLabel: string;
  /** CKA_LABEL of the private key. */
  keyLabel: string;
  /** 0600 file holding the user PIN: the engine reads it itself (RFC 7512 pin-source), the PIN never enters a URI. */
  pinFile: string;
  /** Folder holding `pkcs11.so`: Node's bundled OpenSSL does not search Debian's engines folder by itself. */
  enginesDir?: string;
}

/** `node:tls` options whose private key is a reference into the token, never key material. */
export interface TokenClientTlsOptions extends ConnectionOptions {
  cert: string;
  ca: string[];
  privateKeyEngine: 'pkcs11';
  privateKeyIdentifier: string;
  minVersion: 'TLSv1.2';
  rejectUnauthorized: true;
  /** Built once from the fields above: connections reuse it instead of loading the key from the token each time. */
  secureContext: SecureContext;
}

export interface TokenClientTls {
  options: TokenClientTlsOptions;
  certificate: ClientCertificateInfo;
}

/** RFC 7512 URI naming the private key, the PIN to be read from its file by the engine. */
export function pkcs11KeyUri(key: Pick<TokenKey, 'tokenLabel' | 'keyLabel' | 'pinFile'>): string {
  if (/[?&#]/.test(key.pinFile)) throw new KioskError('PKCS11_PIN_UNAVAILABLE', `the PIN file path ${key.pinFile} holds ?, & or #, which a PKCS#11 URI cannot carry`, { details: { path: key.pinFile } });
  return `pkcs11:token=${encodeURIComponent(key.tokenLabel)};object=${encodeURIComponent(key.keyLabel)};type=private?pin-source=file:${key.pinFile}`;
}

/**
 * Like `loadClientTls`, with the key on a PKCS#11 token: OpenSSL (inside Node) loads the key through the pkcs11
 * engine and every TLS handshake signs on the token. Building the secure context here proves the engine, the token,
 * the PIN and the key, and that the key belongs to the certificate (OpenSSL compares them), before any server sees
 * the client.
 */
export function loadTokenClientTls(files: Pick<ClientTlsFiles, 'clientCert' | 'upstreamCa'>, key: TokenKey, now: Date = new Date()): TokenClientTls {
  const { certPem, ca, certificate } = loadCertificateAndCa(files, now);
  // libp11 reads the module from the environment when the engine first initialises, and OpenSSL finds an engine by
  // id in OPENSSL_ENGINES. By id (not by path), the engine is loaded once and shared: loading its file a second time
  // fails its init (found by the integration test). One module per process.
  process.env.PKCS11_MODULE_PATH = key.module;
  process.env.OPENSSL_ENGINES = key.enginesDir ?? DEFAULT_ENGINES_DIR;
  const context = {
    cert: certPem,
    ca,
    privateKeyEngine: 'pkcs11' as const,
    privateKeyIdentifier: pkcs11KeyUri(key),
    minVersion: 'TLSv1.2' as const,
    rejectUnauthorized: true as const,
  };
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext(context);
  } catch (cause) {
    const mismatch = /key values mismatch/i.test((cause as Error).message);
    const where = `key "${key.keyLabel}" on token "${key.tokenLabel}" (${key.module})`;
    throw mismatch
      ? new KioskError('SYNC_CERT_KEY_MISMATCH', `the ${where} does not belong to the certificate ${files.clientCert}`, { cause, details: { certificate: files.clientCert, keyLabel: key.keyLabel } })
      : new KioskError('PKCS11_KEY_NOT_FOUND', `OpenSSL's pkcs11 engine cannot use the ${where}: ${(cause as Error).message}`, { cause, details: { tokenLabel: key.tokenLabel, keyLabel: key.keyLabel } });
  }
  const options: TokenClientTlsOptions = { ...context, secureContext };
  return { options, certificate };
}
