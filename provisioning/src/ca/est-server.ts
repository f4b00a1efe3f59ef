import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { isKioskError, KioskError, type ErrorCode } from '@kiosk/common';
import { CSR_BODY_LIMIT, decodeBase64Body } from './csr-policy.js';
import type { DevCa, Issued } from './dev-ca.js';
import { certsOnlyBase64 } from './x509.js';

/**
 * EST (RFC 7030) over HTTPS for the development CA: cacerts, simpleenroll (one-time token as the HTTP Basic password
 * or a Bearer token) and simplereenroll (the current certificate over mutual TLS), plus the CRL at GET /crl.
 * The TLS server asks every client for a certificate but does not demand one, so enrollment works without.
 */

export const EST_PATH = '/.well-known/est';
const PKCS7 = 'application/pkcs7-mime; smime-type=certs-only';

const STATUS: Partial<Record<ErrorCode, number>> = {
  PROVISION_TOKEN_INVALID: 401,
  PROVISION_TOKEN_EXPIRED: 401,
  PROVISION_TOKEN_USED: 401,
  PROVISION_CSR_MALFORMED: 400,
  PROVISION_CSR_SIGNATURE: 400,
  PROVISION_CSR_WEAK_KEY: 400,
  PROVISION_CERT_UNKNOWN: 403,
  PROVISION_CERT_REVOKED: 403,
};

export interface EstServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface EstServer {
  url: string;
  close(): Promise<void>;
}

/** The token of `Authorization: Basic base64(anything:TOKEN)` (what curl -u and libest send) or `Bearer TOKEN`. */
export function tokenOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme, value = ''] = authorization.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function peerCertificateDer(request: FastifyRequest): Buffer | undefined {
  const socket = request.raw.socket as TLSSocket;
  const peer = socket.getPeerCertificate();
  return peer.raw === undefined || peer.raw.length === 0 ? undefined : peer.raw;
}

export async function startEstServer(ca: DevCa, options: EstServerOptions = {}): Promise<EstServer> {
  const tls = ca.serverTls();
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: CSR_BODY_LIMIT,
    https: { ...tls, ca: [ca.pem], requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
  });
  // RFC 7030 bodies are base64 text, whatever the exact media type a client names.
  app.addContentTypeParser(['application/pkcs10', 'application/octet-stream', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, _request, reply) => {
    if (isKioskError(err) && STATUS[err.code] !== undefined) {
      if (STATUS[err.code] === 401) reply.header('www-authenticate', 'Basic realm="estrealm"');
      return reply.code(STATUS[err.code]!).send({ code: err.code, message: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ code: 'PROVISION_CSR_MALFORMED', message: `the request was refused: ${(err as Error).message}` });
    }
    return reply.code(500).send({ code: 'INTERNAL', message: 'the CA failed to answer; see its log' });
  });

  const certsOnly = (issued: Issued): string => certsOnlyBase64([issued.certificate]);
  app.get(`${EST_PATH}/cacerts`, async (_request, reply) =>
    reply.header('content-type', PKCS7).header('content-transfer-encoding', 'base64').send(certsOnlyBase64([ca.certificate])),
  );
  app.post(`${EST_PATH}/simpleenroll`, async (request, reply) => {
    const issued = await ca.enroll(tokenOf(request.headers.authorization), decodeBase64Body(request.body, 'certificate request'));
    return reply.header('content-type', PKCS7).header('content-transfer-encoding', 'base64').send(certsOnly(issued));
  });
  app.post(`${EST_PATH}/simplereenroll`, async (request, reply) => {
    const issued = await ca.reenroll(peerCertificateDer(request), decodeBase64Body(request.body, 'certificate request'));
    return reply.header('content-type', PKCS7).header('content-transfer-encoding', 'base64').send(certsOnly(issued));
  });
  app.get('/crl', async (_request, reply) => reply.header('content-type', 'application/pkix-crl').send(ca.crlDer()));

  const [host, port] = [options.host ?? '127.0.0.1', options.port ?? 0];
  const address = await app.listen({ host, port }).catch(async (err: NodeJS.ErrnoException) => {
    await app.close();
    throw new KioskError('PROVISION_CA_LISTEN_FAILED', `the EST server cannot listen on ${host}:${port} (${err.code ?? err.message}); choose another --port or --host`, {
      cause: err,
      details: { host, port, reason: err.code },
    });
  });
  return { url: address.replace(/^http:/, 'https:'), close: () => app.close() };
}
