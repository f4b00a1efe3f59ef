import 'reflect-metadata'; // before @peculiar/x509 (tsyringe)
import { execFileSync } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { SyncPki } from '@kiosk/fixtures';
import { createTokenCsr } from '../../src/pkcs11/csr.js';
import { DEFAULT_PKCS11_MODULE, type Pkcs11Token } from '../../src/pkcs11/token.js';

export interface TempToken {
  dir: string;
  module: string;
  tokenLabel: string;
  pin: string;
  pinFile: string;
  remove(): void;
}

/**
 * A fresh SoftHSM2 token in a temp folder: SOFTHSM2_CONF points this process (and the children it starts) at it, so
 * the system token folder is never touched. SoftHSM reads SOFTHSM2_CONF at C_Initialize, so call this first.
 */
export function tempToken(tokenLabel = 'kiosk-test'): TempToken {
  const dir = mkdtempSync(join(tmpdir(), 'kiosk-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  // Synthetic test PINs; softhsm2-util takes them only as arguments (the product reads PINs from a 0600 file).
  const pin = '246810';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--so-pin', '13579246', '--pin', pin], { stdio: 'ignore' });
  const pinFile = join(dir, 'user.pin');
  writeFileSync(pinFile, pin, { mode: 0o600 });
  return { dir, module: DEFAULT_PKCS11_MODULE, tokenLabel, pin, pinFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The fixtures' device CA issues a client certificate for a CSR: in memory, so no CA key file lands on disk. */
async function issueFromCsr(csr: x509.Pkcs10CertificateRequest, pki: SyncPki): Promise<string> {
  const caDer = Buffer.from(pki.deviceCa.privateKey.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const signingKey = await webcrypto.subtle.importKey('pkcs8', caDer, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `1${randomBytes(8).toString('hex')}`,
    subject: csr.subject,
    issuer: new x509.X509Certificate(pki.deviceCa.certificate).subject,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2040-01-01T00:00:00Z'),
    publicKey: csr.publicKey,
    signingKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}

/**
 * What enrollment will do, with the fixtures' CA standing in for the EST server: a CSR for the token key (signed by
 * the token) in `device.csr`, its client certificate in `device.crt`, the pinned upstream CA in `upstream-ca.crt`.
 */
export async function enrolTokenKey(token: TempToken, session: Pkcs11Token, keyLabel: string, pki: SyncPki): Promise<{ csrPath: string; certPath: string; caPath: string }> {
  const csr = await createTokenCsr(session, { keyLabel, subject: 'CN=KIOSK-TEST-0001, OU=HCM-Q1, O=CCCD kiosk fleet (TEST), C=VN' });
  const paths = { csrPath: join(token.dir, 'device.csr'), certPath: join(token.dir, 'device.crt'), caPath: join(token.dir, 'upstream-ca.crt') };
  writeFileSync(paths.csrPath, csr.toString('pem'));
  writeFileSync(paths.certPath, await issueFromCsr(csr, pki));
  writeFileSync(paths.caPath, pki.serverCa.certificate);
  return paths;
}
