import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureVersion, TLSSocket } from 'node:tls';
import type { SyncPki, TlsIdentity } from '@kiosk/fixtures';
import type { ClientTlsOptions } from '../src/tls/index.js';

/** A real HTTPS server on 127.0.0.1 configured as the upstream simulators are: client certificates required. */
export interface UpstreamServer {
  port: number;
  close(): Promise<void>;
}

export interface UpstreamServerOptions {
  identity?: TlsIdentity;
  maxVersion?: SecureVersion;
}

/** What the server answers: who the client certificate it accepted names. */
export interface PeerAnswer {
  subject: string;
  serialNumber: string;
}

export async function startUpstream(pki: SyncPki, options: UpstreamServerOptions = {}): Promise<UpstreamServer> {
  const identity = options.identity ?? pki.servers.server;
  const old = options.maxVersion !== undefined && options.maxVersion !== 'TLSv1.2' && options.maxVersion !== 'TLSv1.3';
  const server: Server = createServer(
    {
      cert: identity.certificate,
      key: identity.privateKey,
      ca: [pki.deviceCa.certificate],
      crl: [pki.deviceCrl],
      requestCert: true,
      rejectUnauthorized: true,
      // An outdated server for the protocol test: OpenSSL 3 needs security level 0 to speak TLS 1.0/1.1 at all.
      ...(old ? { minVersion: 'TLSv1' as const, maxVersion: options.maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      const answer: PeerAnswer = { subject: String(peer.subject.CN), serialNumber: peer.serialNumber };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** One GET over its own connection (agent: false), so each call presents the options given. */
export function getPeer(port: number, tls: ClientTlsOptions, host = '127.0.0.1'): Promise<PeerAnswer> {
  return new Promise((resolveAnswer, reject) => {
    const req = request({ host, port, path: '/', method: 'GET', agent: false, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveAnswer(JSON.parse(body) as PeerAnswer));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Client options from raw PEM, skipping loadClientTls's own checks: to see what the server says of a bad cert. */
export function rawClientOptions(pki: SyncPki, client: TlsIdentity): ClientTlsOptions {
  return { cert: client.certificate, key: client.privateKey, ca: [pki.serverCa.certificate], minVersion: 'TLSv1.2', rejectUnauthorized: true };
}

/** The system's OpenSSL, for a server that answers a refused client certificate with its TLS alert. */
export const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));

/**
 * `openssl s_server` as the upstream, verifying client certificates against the device CA and its CRL: the same
 * OpenSSL verification nginx and other gateways run, which tells the client why with a TLS alert. A node:https
 * server with rejectUnauthorized only closes the connection (see docs/sync.md).
 */
export async function startOpensslUpstream(dir: string): Promise<UpstreamServer> {
  if (!OPENSSL) throw new Error('no openssl binary');
  const child = spawn(
    OPENSSL,
    ['s_server', '-accept', '127.0.0.1:0', '-cert', join(dir, 'server.pem'), '-key', join(dir, 'server-key.pem'), '-CAfile', join(dir, 'device-ca.pem'), '-CRL', join(dir, 'device-crl.pem'), '-crl_check', '-Verify', '1', '-verify_return_error', '-www'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /ACCEPT [^\n]*:(\d+)/.exec(output);
      if (match) resolvePort(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`openssl s_server exited (${code}): ${output}`)));
  });
  return {
    port,
    close: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
