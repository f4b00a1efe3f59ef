import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { KioskError, type KioskConfig } from '@kiosk/common';

/**
 * The client side of the sync agent's mTLS: the device certificate and key it presents, and the one upstream CA it
 * trusts. Files today (`sync.clientCert`, `sync.clientKey`, `sync.upstreamCa`); the provisioning issue adds
 * PKCS#11 keys and enrollment behind the same shape.
 */

export type ClientTlsFiles = Pick<KioskConfig['sync'], 'clientCert' | 'clientKey' | 'upstreamCa'>;

/** What `node:tls` / `node:https` take: the pinned CA replaces the system store, and TLS below 1.2 is off. */
export interface ClientTlsOptions extends ConnectionOptions {
  cert: string;
  key: string;
  ca: string[];
  minVersion: 'TLSv1.2';
  rejectUnauthorized: true;
}

export interface ClientCertificateInfo {
  subject: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint, colon-separated hex: what the logs and `kiosk-sync status` show. */
  fingerprint256: string;
}

export interface ClientTls {
  options: ClientTlsOptions;
  certificate: ClientCertificateInfo;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new KioskError('SYNC_TLS_FILE_UNREADABLE', `cannot read the ${what} ${path} (${reason})`, { cause: err, details: { path, reason } });
  }
}

function parseOrUnreadable<T>(path: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new KioskError('SYNC_TLS_FILE_UNREADABLE', `the ${what} ${path} holds no usable PEM: ${(err as Error).message}`, { cause: err, details: { path } });
  }
}

/** Refuses a client certificate outside its validity at `now`, with both dates, before any server sees it. */
export function assertCertificateCurrent(certificate: ClientCertificateInfo, now: Date, path: string): void {
  const dates = { path, notBefore: certificate.notBefore.toISOString(), notAfter: certificate.notAfter.toISOString() };
  if (now < certificate.notBefore) {
    throw new KioskError('SYNC_CERT_NOT_YET_VALID', `the client certificate ${path} is valid only from ${dates.notBefore}`, { details: dates });
  }
  if (now > certificate.notAfter) {
    throw new KioskError('SYNC_CERT_EXPIRED', `the client certificate ${path} expired on ${dates.notAfter}`, { details: dates });
  }
}

/** The client certificate and the pinned CA, read and checked: what both key sources (file, token) share. */
export interface CertificateAndCa {
  certPem: string;
  cert: X509Certificate;
  ca: string[];
  certificate: ClientCertificateInfo;
}

export function loadCertificateAndCa(files: Pick<ClientTlsFiles, 'clientCert' | 'upstreamCa'>, now: Date = new Date()): CertificateAndCa {
  const certPem = readText(files.clientCert, 'client certificate');
  const caPem = readText(files.upstreamCa, 'upstream CA');
  const cert = parseOrUnreadable(files.clientCert, 'client certificate', () => new X509Certificate(certPem));
  const ca = parseOrUnreadable(files.upstreamCa, 'upstream CA', () => {
    const blocks = caPem.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw new Error('no CERTIFICATE block');
    if (!blocks.every((block) => new X509Certificate(block).ca)) throw new Error('a certificate in it is not a CA certificate');
    return blocks;
  });
  const certificate: ClientCertificateInfo = parseOrUnreadable(files.clientCert, 'client certificate', () => {
    const notBefore = new Date(cert.validFrom);
    const notAfter = new Date(cert.validTo);
    // OpenSSL prints a damaged validity as text Date cannot read (found by the fuzz test).
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) throw new Error(`unreadable validity ${cert.validFrom} - ${cert.validTo}`);
    return { subject: cert.subject, serialNumber: cert.serialNumber, notBefore, notAfter, fingerprint256: cert.fingerprint256 };
  });
  assertCertificateCurrent(certificate, now, files.clientCert);
  return { certPem, cert, ca, certificate };
}

/** Reads and checks the three files; every failure is a typed error naming the file. */
export function loadClientTls(files: ClientTlsFiles, now: Date = new Date()): ClientTls {
  const { certPem, cert, ca, certificate } = loadCertificateAndCa(files, now);
  const keyPem = readText(files.clientKey, 'client key');
  const key: KeyObject = parseOrUnreadable(files.clientKey, 'client key', () => createPrivateKey(keyPem));
  if (!cert.checkPrivateKey(key)) {
    throw new KioskError('SYNC_CERT_KEY_MISMATCH', `the client key ${files.clientKey} does not belong to the certificate ${files.clientCert}`, {
      details: { certificate: files.clientCert, key: files.clientKey },
    });
  }
  return { options: { cert: certPem, key: keyPem, ca, minVersion: 'TLSv1.2', rejectUnauthorized: true }, certificate };
}
