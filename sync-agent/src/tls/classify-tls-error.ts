import { isKioskError, KioskError, type ErrorCode } from '@kiosk/common';

/**
 * One clear error for each way an mTLS connection to an upstream fails. Node reports the server-certificate checks
 * with OpenSSL's X509 verify codes (CERT_HAS_EXPIRED, ...) or ERR_TLS_CERT_ALTNAME_INVALID, and what the server
 * says about our certificate as a received alert (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ...).
 */

/** OpenSSL verify codes meaning the server's chain does not end at the pinned CA. */
const UNTRUSTED_CHAIN = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
]);

const SERVER_CERT_DATES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** TLS alerts (RFC 8446 §6.2) a server sends when it refuses the client certificate. */
const CLIENT_CERT_ALERTS = new Set([
  'BAD_CERTIFICATE',
  'UNSUPPORTED_CERTIFICATE',
  'CERTIFICATE_REVOKED',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_UNKNOWN',
  'UNKNOWN_CA',
  'CERTIFICATE_REQUIRED',
  'ACCESS_DENIED',
]);

const PROTOCOL_ALERTS = new Set(['PROTOCOL_VERSION', 'INSUFFICIENT_SECURITY']);
/** Raised locally when the server offers only versions below our minVersion. */
const PROTOCOL_CODES = new Set(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE']);

const ALERT_CODE = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/;
/** When the alert ends a write, Node gives code EPROTO and only OpenSSL's text names it ("SSL alert number 70"). */
const ALERT_NUMBER = /SSL alert number (\d+)/;
/** RFC 8446 §6 AlertDescription values of the alerts above. */
const ALERT_NAMES: Readonly<Record<string, string>> = {
  40: 'HANDSHAKE_FAILURE',
  42: 'BAD_CERTIFICATE',
  43: 'UNSUPPORTED_CERTIFICATE',
  44: 'CERTIFICATE_REVOKED',
  45: 'CERTIFICATE_EXPIRED',
  46: 'CERTIFICATE_UNKNOWN',
  48: 'UNKNOWN_CA',
  49: 'ACCESS_DENIED',
  70: 'PROTOCOL_VERSION',
  71: 'INSUFFICIENT_SECURITY',
  116: 'CERTIFICATE_REQUIRED',
};

function alertOf(code: string, text: string): string | undefined {
  const named = ALERT_CODE.exec(code)?.[1];
  if (named !== undefined) return named;
  const number = ALERT_NUMBER.exec(text)?.[1];
  return number === undefined ? undefined : (ALERT_NAMES[number] ?? `ALERT_${number}`);
}

interface NodeTlsError {
  code?: unknown;
  message?: unknown;
  host?: unknown;
}

function tlsError(code: ErrorCode, message: string, cause: unknown, details: Record<string, unknown>): KioskError {
  return new KioskError(code, message, { cause, details });
}

/**
 * Maps a failed connection's error to its sync error; undefined when it is not a TLS failure (refused, reset,
 * timeout...), which the relay treats as the network being down. A KioskError (e.g. from ClientTlsSource) passes
 * through unchanged.
 */
export function classifyTlsError(err: unknown): KioskError | undefined {
  if (isKioskError(err)) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, message, host } = err as NodeTlsError;
  if (typeof code !== 'string') return undefined;
  const text = typeof message === 'string' ? message : code;
  if (UNTRUSTED_CHAIN.has(code)) {
    return tlsError('SYNC_UPSTREAM_UNTRUSTED', `the upstream server certificate does not chain to the pinned upstream CA (${code})`, err, { openssl: code });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return tlsError('SYNC_UPSTREAM_WRONG_HOST', `the upstream server certificate is not for this host: ${text}`, err, { openssl: code, ...(typeof host === 'string' ? { host } : {}) });
  }
  if (SERVER_CERT_DATES.has(code)) {
    return tlsError('SYNC_UPSTREAM_CERT_EXPIRED', `the upstream server certificate is outside its validity (${code})`, err, { openssl: code });
  }
  if (PROTOCOL_CODES.has(code)) {
    return tlsError('SYNC_TLS_PROTOCOL', `the upstream server offers no TLS version this agent accepts (TLS 1.2 or later): ${code}`, err, { openssl: code });
  }
  const alertName = alertOf(code, text);
  if (alertName !== undefined) {
    const alert = alertName.toLowerCase().replaceAll('_', ' ');
    if (CLIENT_CERT_ALERTS.has(alertName)) {
      return tlsError('SYNC_CLIENT_CERT_REJECTED', `the upstream server rejected the device's client certificate (alert: ${alert})`, err, { alert, openssl: code });
    }
    if (PROTOCOL_ALERTS.has(alertName)) {
      return tlsError('SYNC_TLS_PROTOCOL', `the upstream server refused the TLS version or ciphers (alert: ${alert}); this agent speaks TLS 1.2 and 1.3 only`, err, { alert, openssl: code });
    }
    return tlsError('SYNC_TLS_FAILED', `the TLS handshake with the upstream server failed (alert: ${alert})`, err, { alert, openssl: code });
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return tlsError('SYNC_TLS_FAILED', `the TLS connection to the upstream server failed: ${text}`, err, { openssl: code });
  }
  return undefined;
}
