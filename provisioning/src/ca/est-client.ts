import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { SecureContext, TLSSocket } from 'node:tls';
import { KioskError, type ErrorCode } from '@kiosk/common';
import { EST_PATH } from './est-server.js';
import { fingerprint256, normalizeFingerprint, x509 } from './x509.js';

/**
 * The EST client the device side uses (`kiosk-provision init` / `renew`). Bootstrap (RFC 7030 §4.1.1): the first
 * request fetches /cacerts without trusting anyone yet, and the CA it returns is accepted only when its SHA-256
 * fingerprint equals the one the technician was given (printed by `ca serve`, passed as `--ca-fingerprint`) and the
 * server's own certificate was issued by it. Every later request pins that CA and nothing else.
 */

export interface EstResponse {
  status: number;
  body: Buffer;
  peerCertificate: Buffer | undefined;
}

interface EstRequest {
  url: string;
  method: 'GET' | 'POST';
  /** PEM of the pinned CA; undefined only for the bootstrap /cacerts call. */
  ca: string | undefined;
  headers?: Record<string, string>;
  body?: string;
  cert?: string;
  key?: string;
  /** Instead of cert and key: a context whose key is in a PKCS#11 token (its CA must be the pinned one). */
  secureContext?: SecureContext;
}

function send(options: EstRequest): Promise<EstResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      options.url,
      {
        method: options.method,
        headers: options.headers,
        minVersion: 'TLSv1.2',
        ...(options.ca === undefined ? { rejectUnauthorized: false } : { ca: [options.ca], rejectUnauthorized: true }),
        ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        ...(options.secureContext === undefined ? {} : { secureContext: options.secureContext }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), peerCertificate: peer.raw }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(new KioskError('PROVISION_EST_FAILED', `the EST server ${options.url} cannot be reached: ${err.message}`, { cause: err })));
    req.end(options.body);
  });
}

/** A 2xx certs-only answer as certificates; an error answer as the typed error the server named. */
function certificatesOf(response: EstResponse, url: string): x509.X509Certificate[] {
  if (response.status < 200 || response.status > 299) {
    let answer: { code?: string; message?: string } = {};
    try {
      answer = JSON.parse(response.body.toString('utf8')) as typeof answer;
    } catch {
      // Not one of our servers: the status line is all there is to say.
    }
    if (answer.code?.startsWith('PROVISION_') && answer.message) throw new KioskError(answer.code as ErrorCode, answer.message, { details: { status: response.status, url } });
    throw new KioskError('PROVISION_EST_FAILED', `the EST server answered ${url} with HTTP ${response.status}`, { details: { status: response.status, url } });
  }
  try {
    return [...new x509.X509Certificates(Buffer.from(response.body.toString('latin1').replace(/\s+/g, ''), 'base64'))];
  } catch (err) {
    throw new KioskError('PROVISION_EST_FAILED', `the EST server answered ${url} with a body that is not a base64 certs-only PKCS#7`, { cause: err });
  }
}

const endpoint = (url: string, operation: string): string => `${url.replace(/\/+$/, '')}${EST_PATH}/${operation}`;

export interface EstCaCerts {
  /** PEM of the CA certificate: pass it as `caPin` to estEnroll and estReenroll. */
  caPem: string;
  fingerprint256: string;
}

/** GET /cacerts and check it against the fingerprint given out of band (or against an already pinned CA). */
export async function estCaCerts(url: string, pin: { caFingerprint: string } | { caPin: string }): Promise<EstCaCerts> {
  const target = endpoint(url, 'cacerts');
  const response = await send({ url: target, method: 'GET', ca: 'caPin' in pin ? pin.caPin : undefined });
  const certificates = certificatesOf(response, target);
  const expected = 'caPin' in pin ? fingerprint256(new X509Certificate(pin.caPin).raw) : normalizeFingerprint(pin.caFingerprint);
  const ca = certificates.find((certificate) => fingerprint256(certificate.rawData) === expected);
  if (!ca) {
    const found = certificates.map((certificate) => fingerprint256(certificate.rawData)).join(', ') || 'none';
    throw new KioskError('PROVISION_CA_PIN_MISMATCH', `the EST server at ${url} offers a CA with fingerprint ${found}, not the expected ${expected}; check the server address and the fingerprint`, {
      details: { expected, found },
    });
  }
  const caPem = ca.toString('pem');
  const server = response.peerCertificate === undefined ? undefined : new X509Certificate(response.peerCertificate);
  if (!server?.checkIssued(new X509Certificate(caPem)) || !server.verify(new X509Certificate(caPem).publicKey)) {
    throw new KioskError('PROVISION_CA_PIN_MISMATCH', `the EST server at ${url} presents a TLS certificate not issued by the CA it offers; do not enroll against it`);
  }
  return { caPem, fingerprint256: expected };
}

const csrBody = (csrDer: Uint8Array): string => `${Buffer.from(csrDer).toString('base64').replace(/.{64}/g, '$&\n')}\n`;

function issuedPem(response: EstResponse, url: string): string {
  const [certificate] = certificatesOf(response, url);
  if (!certificate) throw new KioskError('PROVISION_EST_FAILED', `the EST server answered ${url} with no certificate`);
  return certificate.toString('pem');
}

/** simpleenroll with a one-time token (sent as the HTTP Basic password, user "kiosk"); returns the certificate PEM. */
export async function estEnroll(options: { url: string; token: string; csrDer: Uint8Array; caPin: string }): Promise<string> {
  const target = endpoint(options.url, 'simpleenroll');
  const response = await send({
    url: target,
    method: 'POST',
    ca: options.caPin,
    headers: { 'content-type': 'application/pkcs10', 'content-transfer-encoding': 'base64', authorization: `Basic ${Buffer.from(`kiosk:${options.token}`).toString('base64')}` },
    body: csrBody(options.csrDer),
  });
  return issuedPem(response, target);
}

/**
 * simplereenroll authenticated by the current certificate and key over mutual TLS (PEM key, or a secure context built
 * on a token key whose CA list is the pinned CA); returns the new certificate PEM.
 */
export async function estReenroll(options: { url: string; tls: { cert: string; key: string } | { secureContext: SecureContext }; csrDer: Uint8Array; caPin: string }): Promise<string> {
  const target = endpoint(options.url, 'simplereenroll');
  const response = await send({
    url: target,
    method: 'POST',
    ca: options.caPin,
    headers: { 'content-type': 'application/pkcs10', 'content-transfer-encoding': 'base64' },
    body: csrBody(options.csrDer),
    ...options.tls,
  });
  return issuedPem(response, target);
}
