import { execFile, spawn } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClientTls } from '@kiosk/sync-agent';
import { CA_FILES, DevCa, estCaCerts, estEnroll, estReenroll, startEstServer, type EstServer } from '../src/index.js';
import { HOUR, makeCsr, refusalCode, SEED, tempCaDir } from './ca-helpers.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/kiosk-provision.js', import.meta.url));
const HTTP_FUZZ_RUNS = 60;

describe('development CA over EST (real HTTPS, openssl and curl)', () => {
  let dir: string;
  let ca: DevCa;
  let server: EstServer;
  let caPin: string;

  beforeAll(async () => {
    dir = tempCaDir();
    ca = await DevCa.open(dir);
    server = await startEstServer(ca);
    caPin = (await estCaCerts(server.url, { caFingerprint: ca.fingerprint256.toLowerCase().replace(/:/g, '') })).caPem;
  });
  afterAll(async () => {
    await server.close();
    ca.close();
  });

  const file = (name: string, text: string | Buffer): string => {
    const path = join(dir, '..', name);
    writeFileSync(path, text);
    return path;
  };

  /** curl POSTing a body to an EST operation, pinned to the CA; gives the HTTP status and the body. */
  async function curlPost(operation: string, bodyFile: string, auth: string[]): Promise<{ status: number; body: string }> {
    const out = join(dir, '..', `curl-${operation}-${Math.random().toString(16).slice(2)}`);
    const { stdout } = await run('curl', [
      '-sS', '--cacert', join(dir, CA_FILES.caCert), '-o', out, '-w', '%{http_code}', '-H', 'Content-Type: application/pkcs10',
      '--data-binary', `@${bodyFile}`, ...auth, `${server.url}/.well-known/est/${operation}`,
    ]);
    return { status: Number(stdout), body: readFileSync(out, 'utf8') };
  }

  it('(a) enrolls a client that is not ours: openssl req CSR, curl to simpleenroll, openssl pkcs7 extracts a certificate openssl verify accepts', async () => {
    const key = join(dir, '..', 'openssl.key');
    const csrPem = join(dir, '..', 'openssl.csr');
    await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csrPem, '-subj', '/CN=hn-badinh-OTHER-DEVICE']);
    const body = file('openssl.csr.b64', readFileSync(csrPem, 'utf8').replace(/-----[^-]+-----/g, '').trim());
    const { token } = ca.createToken({ site: 'hn-badinh', profile: 'one-stop', ttlMs: HOUR, deviceSerial: 'CURL-1' });
    const answer = await curlPost('simpleenroll', body, ['-u', `kiosk:${token}`]);
    expect(answer.status).toBe(200);
    const p7 = file('answer.p7.b64', answer.body);
    const { stdout: certPem } = await run('sh', ['-c', `openssl base64 -d -in "${p7}" | openssl pkcs7 -inform DER -print_certs`]);
    const cert = file('curl-client.pem', certPem);
    const verify = await run('openssl', ['verify', '-CAfile', join(dir, CA_FILES.caCert), '-purpose', 'sslclient', cert]);
    expect(verify.stdout).toContain(': OK');
    expect(new X509Certificate(certPem).subject).toContain('CN=hn-badinh-CURL-1');
    const { stdout: cacerts } = await run('sh', ['-c', `curl -sS --cacert "${join(dir, CA_FILES.caCert)}" ${server.url}/.well-known/est/cacerts | openssl base64 -d | openssl pkcs7 -inform DER -print_certs`]);
    expect(new X509Certificate(cacerts).fingerprint256).toBe(ca.fingerprint256);
  });

  it('(a) refuses over curl a wrong and a reused token (401) and a Bearer token works once', async () => {
    const csr = await makeCsr();
    const body = file('ours.csr.b64', csr.der.toString('base64'));
    const wrong = await curlPost('simpleenroll', body, ['-u', 'kiosk:wrong-token']);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toMatchObject({ code: 'PROVISION_TOKEN_INVALID' });
    const { token } = ca.createToken({ site: 'hn-badinh', profile: 'notary', ttlMs: HOUR });
    expect((await curlPost('simpleenroll', body, ['-H', `Authorization: Bearer ${token}`])).status).toBe(200);
    const reused = await curlPost('simpleenroll', body, ['-u', `kiosk:${token}`]);
    expect(reused.status).toBe(401);
    expect(JSON.parse(reused.body)).toMatchObject({ code: 'PROVISION_TOKEN_USED' });
  });

  it('(b) our client enrolls, re-enrolls over mTLS with the current certificate, and is refused once that certificate is revoked', async () => {
    const { token } = ca.createToken({ site: 'dn-haichau', profile: 'hospital', ttlMs: HOUR, deviceSerial: 'OURS-1' });
    const first = await makeCsr();
    const certPem = await estEnroll({ url: server.url, token, csrDer: first.der, caPin });
    const second = await makeCsr();
    const renewedPem = await estReenroll({ url: server.url, tls: { cert: certPem, key: first.keyPem }, csrDer: second.der, caPin });
    const [old, renewed] = [new X509Certificate(certPem), new X509Certificate(renewedPem)];
    expect(renewed.subject).toBe(old.subject);
    expect(renewed.serialNumber).not.toBe(old.serialNumber);
    expect(renewed.publicKey.export({ format: 'jwk' })).toEqual(createPublicKey(second.keyPem).export({ format: 'jwk' }));

    // Revoked through a second handle on the folder, as `kiosk-provision ca revoke` does while `ca serve` runs.
    const operator = await DevCa.open(dir);
    await operator.revoke(old.serialNumber);
    operator.close();
    expect(await refusalCode(estReenroll({ url: server.url, tls: { cert: certPem, key: first.keyPem }, csrDer: second.der, caPin }))).toBe('PROVISION_CERT_REVOKED');
    const crl = await run('sh', ['-c', `curl -sS --cacert "${join(dir, CA_FILES.caCert)}" ${server.url}/crl | openssl crl -inform DER -noout -text`]);
    expect(crl.stdout).toContain(`Serial Number: ${old.serialNumber}`);
  });

  it('a second server on a taken port is a typed refusal', async () => {
    const port = Number(new URL(server.url).port);
    expect(await refusalCode(startEstServer(ca, { port }))).toBe('PROVISION_CA_LISTEN_FAILED');
  });

  it('(b) refuses re-enrollment without a client certificate or with one from a foreign CA, and a wrong CA fingerprint at bootstrap', async () => {
    const csr = await makeCsr();
    const foreign = await DevCa.open(tempCaDir());
    const stranger = await foreign.enroll(foreign.createToken({ site: 'x', profile: 'notary', ttlMs: HOUR }).token, csr.der);
    foreign.close();
    expect(await refusalCode(estReenroll({ url: server.url, tls: { cert: stranger.certificate.toString('pem'), key: csr.keyPem }, csrDer: csr.der, caPin }))).toBe('PROVISION_CERT_UNKNOWN');
    const noCert = await curlPost('simplereenroll', file('plain.csr.b64', csr.der.toString('base64')), []);
    expect(noCert.status).toBe(403);
    expect(await refusalCode(estCaCerts(server.url, { caFingerprint: foreign.fingerprint256 }))).toBe('PROVISION_CA_PIN_MISMATCH');
  });

  /**
   * A node:tls upstream that trusts the dev CA and its current CRL, as the simulators do. It answers with its verdict
   * instead of dropping the connection (rejectUnauthorized off), so the test reads why a certificate is refused.
   */
  async function upstreamVerdict(client: ReturnType<typeof loadClientTls>): Promise<string> {
    const upstream = createServer({ ...ca.serverTls(), ca: [ca.pem], crl: [readFileSync(join(dir, CA_FILES.crlPem), 'utf8')], requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (socket) => {
      socket.end(socket.authorized ? `hello ${(socket.getPeerCertificate() as { subject: { CN: string } }).subject.CN}` : `refused ${String(socket.authorizationError)}`);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port } = upstream.address() as { port: number };
    try {
      const socket: TLSSocket = connect({ ...client.options, host: '127.0.0.1', port, servername: 'localhost' });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(socket, 'end');
      return Buffer.concat(chunks).toString();
    } finally {
      upstream.close();
    }
  }

  it('(c) the issued certificate is the sync agent client certificate a real mTLS server trusting the dev CA accepts, until its CRL lists it', async () => {
    const csr = await makeCsr();
    const { token } = ca.createToken({ site: 'hcm-q1', profile: 'one-stop', ttlMs: HOUR, deviceSerial: 'SYNC-1' });
    const certPem = await estEnroll({ url: server.url, token, csrDer: csr.der, caPin });
    const client = loadClientTls({ clientCert: file('sync.cert.pem', certPem), clientKey: file('sync.key.pem', csr.keyPem), upstreamCa: join(dir, CA_FILES.caCert) });
    expect(client.certificate.subject).toContain('hcm-q1-SYNC-1');
    expect(await upstreamVerdict(client)).toBe('hello hcm-q1-SYNC-1');
    await ca.revoke(client.certificate.serialNumber);
    expect(await upstreamVerdict(client)).toBe('refused CERT_REVOKED');
  });

  it(`(d) random and truncated EST bodies get typed 4xx answers, never a 500 (fast-check, ${HTTP_FUZZ_RUNS} cases, seed ${SEED})`, async () => {
    const csr = await makeCsr();
    const valid = csr.der.toString('base64');
    const { token } = ca.createToken({ site: 'hn-fuzz', profile: 'notary', ttlMs: HOUR });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 200 }), fc.nat({ max: valid.length - 1 }).map((cut) => valid.slice(0, cut)), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64'))),
        fc.constantFrom('simpleenroll', 'simplereenroll'),
        async (body, operation) => {
          const response = await fetchEst(server.url, operation, body, token, caPin);
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          expect((JSON.parse(response.body) as { code: string }).code).toMatch(/^PROVISION_/);
        },
      ),
      { numRuns: HTTP_FUZZ_RUNS, seed: SEED },
    );
    expect((await fetchEst(server.url, 'simpleenroll', valid, token, caPin)).status).toBe(200);
  });
});

/** A raw POST with node:https, pinned to the CA (what a careless client might send). */
async function fetchEst(url: string, operation: string, body: string, token: string, ca: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(`${url}/.well-known/est/${operation}`, { method: 'POST', ca: [ca], agent: false, headers: { 'content-type': 'application/pkcs10', authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('kiosk-provision ca (the CLI)', () => {
  it('init, token, serve (prints the URL and fingerprint, stops on SIGTERM), list --json and revoke', async () => {
    const dir = tempCaDir();
    const cli = (args: string[]): Promise<{ stdout: string; stderr: string }> => run(process.execPath, [bin, 'ca', ...args, '--dir', dir]);
    const init = await cli(['init']);
    const fingerprint = /fingerprint: ([0-9A-F:]+)/.exec(init.stdout)?.[1];
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const token = (await cli(['token', '--site', 'hn-badinh', '--profile', 'hospital', '--ttl', '2h', '--device-serial', 'CLI-1'])).stdout.trim();

    const serve = spawn(process.execPath, [bin, 'ca', 'serve', '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    serve.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    while (!/fingerprint/.test(out)) await once(serve.stdout, 'data');
    const url = /listening on (https:\/\/[^/\s]+)/.exec(out)?.[1] ?? '';
    expect(out).toContain(fingerprint);
    const { caPem } = await estCaCerts(url, { caFingerprint: fingerprint! });
    const csr = await makeCsr();
    const certPem = await estEnroll({ url, token, csrDer: csr.der, caPin: caPem });
    serve.kill('SIGTERM');
    const [code] = (await once(serve, 'exit')) as [number];
    expect(code).toBe(0);
    expect(out).toContain('EST server stopped');

    const listed = JSON.parse((await cli(['list', '--json'])).stdout) as { serialNumber: string; deviceId: string }[];
    expect(listed).toEqual([expect.objectContaining({ serialNumber: new X509Certificate(certPem).serialNumber, deviceId: 'hn-badinh-CLI-1' })]);
    expect((await cli(['revoke', listed[0]!.serialNumber])).stdout).toContain('revoked');
    const failure = await cli(['revoke', 'ABCDEF']).catch((err: { code: number; stderr: string }) => err);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining('[PROVISION_CA_STATE_INVALID]') as unknown });
  });
});
