import { createPrivateKey, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, createSecureContext, createServer, type ConnectionOptions, type Server } from 'node:tls';
import type { BenchCase, BenchSuite } from '@kiosk/common/bench';
import { syncPki } from '@kiosk/fixtures';
import { DEFAULT_ENGINES_DIR, loadTokenClientTls } from '@kiosk/sync-agent';
import { Pkcs11Token } from '../src/pkcs11/index.js';
import { enrolTokenKey, tempToken, type TempToken } from '../test/pkcs11/softhsm.js';

// What keeping the device key in the token costs: mTLS handshakes per second and ECDSA P-256 signatures, the key in
// SoftHSM2 (through OpenSSL's pkcs11 engine for TLS, pkcs11js for signatures) against the key in memory from a file.
// Client and server run in this process on 127.0.0.1, so a handshake's figure includes the server's side too.
const HANDSHAKES = 60;
const KEY = 'kiosk-device';
const pki = syncPki();
const message = Buffer.from('audit checkpoint 1024: 6f1c...');

let token: TempToken | undefined;
let session: Pkcs11Token | undefined;
let server: Server | undefined;
let port = 0;

async function handshakesPerSecond(options: ConnectionOptions): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < HANDSHAKES; i++) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ ...options, host: '127.0.0.1', port, servername: 'localhost' }, () => socket.end());
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
  }
  return HANDSHAKES / (Number(process.hrtime.bigint() - start) / 1e9);
}

const suite: BenchSuite = {
  title: 'device key in a PKCS#11 token',
  skipReason: () =>
    existsSync('/usr/lib/softhsm/libsofthsm2.so') && existsSync(`${DEFAULT_ENGINES_DIR}/pkcs11.so`) ? undefined : 'SoftHSM2 or libengine-pkcs11-openssl is not installed (bash scripts/setup-system.sh)',
  setup: async () => {
    token = tempToken('kiosk-bench');
    server = createServer({ cert: pki.servers.server.certificate, key: pki.servers.server.privateKey, ca: [pki.deviceCa.certificate], requestCert: true, rejectUnauthorized: true }, (socket) => socket.end());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  },
  cases: async (): Promise<BenchCase[]> => {
    const t = token!;
    const enrolling = Pkcs11Token.open({ module: t.module, tokenLabel: t.tokenLabel, pin: t.pin });
    enrolling.generateP256(KEY, Buffer.from([1]));
    const { certPath, caPath } = await enrolTokenKey(t, enrolling, KEY, pki);
    // The engine initialises the module itself; this session shares it afterwards (see Pkcs11Token.open).
    enrolling.close();
    const tokenTls = loadTokenClientTls({ clientCert: certPath, upstreamCa: caPath }, { module: t.module, tokenLabel: t.tokenLabel, keyLabel: KEY, pinFile: t.pinFile });
    session = Pkcs11Token.open({ module: t.module, tokenLabel: t.tokenLabel, pin: t.pin });
    const signer = session;
    const client = pki.clients.device;
    const fileContext = createSecureContext({ cert: client.certificate, key: client.privateKey, ca: [pki.serverCa.certificate], minVersion: 'TLSv1.2' });
    const fileKey = createPrivateKey(client.privateKey);
    return [
      {
        kind: 'figure',
        name: `mTLS handshakes/s, client key in SoftHSM2 via the pkcs11 engine (${HANDSHAKES} sequential, TLS 1.3)`,
        unit: 'handshakes/s',
        lowerIsBetter: false,
        samples: 5,
        ours: () => handshakesPerSecond(tokenTls.options),
        peers: { 'client key in memory from a PEM file': () => handshakesPerSecond({ secureContext: fileContext, rejectUnauthorized: true }) },
      },
      {
        kind: 'time',
        name: 'one ECDSA P-256 / SHA-256 signature, key in SoftHSM2 via pkcs11js (ms)',
        ours: () => signer.signEcdsaSha256(KEY, message),
        peers: { 'key in memory from a PEM file (node:crypto)': () => sign('sha256', message, fileKey) },
      },
    ];
  },
  teardown: async () => {
    session?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    token?.remove();
  },
};

export default suite;
