import { execFileSync } from 'node:child_process';
import { verify, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPki } from '@kiosk/fixtures';
import { loadTokenClientTls, type TokenClientTlsOptions } from '@kiosk/sync-agent';
import { Pkcs11Token } from '../../src/pkcs11/index.js';
import { enrolTokenKey, tempToken, type TempToken } from './softhsm.js';

const DEVICE_KEY = 'kiosk-device';
const OTHER_KEY = 'kiosk-other';
const pki = syncPki();

let token: TempToken;
let certPath: string;
let caPath: string;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => join(dir, name)).filter((path) => statSync(path).isFile());
}

beforeAll(async () => {
  token = tempToken();
  const session = Pkcs11Token.open({ module: token.module, tokenLabel: token.tokenLabel, pin: token.pin });
  try {
    session.generateP256(DEVICE_KEY, Buffer.from([1]));
    session.generateP256(OTHER_KEY, Buffer.from([2]));
    ({ certPath, caPath } = await enrolTokenKey(token, session, DEVICE_KEY, pki));
  } finally {
    // The engine initialises the module for itself below; this process's own session must be gone by then.
    session.close();
  }
});

afterAll(() => token.remove());

describe('device key generated in a SoftHSM2 token', () => {
  it('is sensitive, not extractable, on the token; CKA_VALUE and pkcs11-tool --read-object are refused', () => {
    const session = Pkcs11Token.open({ module: token.module, tokenLabel: token.tokenLabel, pin: token.pin });
    try {
      expect(session.protection(DEVICE_KEY, 'private')).toEqual({ sensitive: true, extractable: false, onToken: true });
      expect(() => session.readKeyValue(DEVICE_KEY, 'private')).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      // The token signs; the signature verifies with the only thing that leaves it, the public key.
      const message = Buffer.from('checkpoint 42');
      const signature = session.signEcdsaSha256(DEVICE_KEY, message);
      expect(verify('sha256', message, { key: session.publicKey(DEVICE_KEY), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
      expect(verify('sha256', Buffer.from('checkpoint 43'), { key: session.publicKey(DEVICE_KEY), dsaEncoding: 'ieee-p1363' }, signature)).toBe(false);
    } finally {
      session.close();
    }
    // A tool that is not ours (OpenSC) reads the flags: generated on the token ("local"), never extractable. Its
    // --read-object does not read EC private keys at all ("not (yet) supported"), so it cannot be the proof here.
    // PIN as an argument: synthetic test PIN only.
    const listed = execFileSync('pkcs11-tool', ['--module', token.module, '--token-label', token.tokenLabel, '--login', '--pin', token.pin, '--list-objects', '--type', 'privkey', '--label', DEVICE_KEY], {
      encoding: 'utf8',
    });
    expect(listed).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
  });

  it('wrong PIN, unknown token and missing key are typed errors', () => {
    expect(() => Pkcs11Token.open({ module: token.module, tokenLabel: token.tokenLabel, pin: '000000' })).toThrow(expect.objectContaining({ code: 'PKCS11_LOGIN_FAILED' }));
    expect(() => Pkcs11Token.open({ module: token.module, tokenLabel: 'no-such-token', pin: token.pin })).toThrow(expect.objectContaining({ code: 'PKCS11_MODULE_UNAVAILABLE' }));
    expect(() => Pkcs11Token.open({ module: join(token.dir, 'missing.so'), tokenLabel: token.tokenLabel, pin: token.pin })).toThrow(expect.objectContaining({ code: 'PKCS11_MODULE_UNAVAILABLE' }));
    const session = Pkcs11Token.open({ module: token.module, tokenLabel: token.tokenLabel, pin: token.pin });
    try {
      expect(() => session.signEcdsaSha256('no-such-key', Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'PKCS11_KEY_NOT_FOUND' }));
    } finally {
      session.close();
    }
  });

  it('the CSR signed inside the token verifies with openssl req -verify and carries the token public key', () => {
    const out = execFileSync('openssl', ['req', '-in', join(token.dir, 'device.csr'), '-noout', '-verify', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/CN ?= ?KIOSK-TEST-0001/);
    // openssl prints "verify OK" on stderr with 3.0; the exit status (execFileSync throws otherwise) is the verdict.
    const cert = new X509Certificate(readFileSync(certPath));
    expect(cert.verify(new X509Certificate(pki.deviceCa.certificate).publicKey)).toBe(true);
  });
});

describe('mTLS with the key in the token (OpenSSL pkcs11 engine)', () => {
  let server: Server;
  let port: number;
  const seen: Array<{ authorized: boolean; fingerprint256: string }> = [];

  beforeAll(async () => {
    server = createServer(
      { cert: pki.servers.server.certificate, key: pki.servers.server.privateKey, ca: [pki.deviceCa.certificate], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      (socket: TLSSocket) => {
        seen.push({ authorized: socket.authorized, fingerprint256: socket.getPeerCertificate().fingerprint256 });
        socket.end('hello device\n');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function handshake(options: TokenClientTlsOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({ ...options, host: '127.0.0.1', port, servername: 'localhost' });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
  }

  it('handshake succeeds, the server sees the enrolled certificate, and no private key file exists', async () => {
    const tls = loadTokenClientTls({ clientCert: certPath, upstreamCa: caPath }, { module: token.module, tokenLabel: token.tokenLabel, keyLabel: DEVICE_KEY, pinFile: token.pinFile });
    expect(tls.options).not.toHaveProperty('key');
    expect(tls.options.privateKeyIdentifier).not.toContain(token.pin);
    expect(await handshake(tls.options)).toBe('hello device\n');
    expect(await handshake(tls.options)).toBe('hello device\n');
    expect(seen).toEqual([
      { authorized: true, fingerprint256: tls.certificate.fingerprint256 },
      { authorized: true, fingerprint256: tls.certificate.fingerprint256 },
    ]);
    const pemKeys = filesUnder(token.dir).filter((path) => /PRIVATE KEY/.test(readFileSync(path, 'latin1')));
    expect(pemKeys).toEqual([]);
  });

  it('another token key than the certificate is refused before connecting (SYNC_CERT_KEY_MISMATCH); a missing key is PKCS11_KEY_NOT_FOUND', () => {
    const key = { module: token.module, tokenLabel: token.tokenLabel, pinFile: token.pinFile };
    expect(() => loadTokenClientTls({ clientCert: certPath, upstreamCa: caPath }, { ...key, keyLabel: OTHER_KEY })).toThrow(expect.objectContaining({ code: 'SYNC_CERT_KEY_MISMATCH' }));
    expect(() => loadTokenClientTls({ clientCert: certPath, upstreamCa: caPath }, { ...key, keyLabel: 'no-such-key' })).toThrow(expect.objectContaining({ code: 'PKCS11_KEY_NOT_FOUND' }));
  });
});
