import { createHash, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import Database from 'better-sqlite3';
import { KioskError } from '@kiosk/common';
import { checkCsr } from './csr-policy.js';
import { EC_P256, fingerprint256, x509, type CryptoKey } from './x509.js';

/**
 * The development CA: one ECDSA P-256 CA that issues the kiosks' client certificates (the upstream simulators trust
 * it) and the EST server's own TLS certificate, so a technician pins one fingerprint for both. Its state is a folder:
 * PEM files (keys 0600), the current CRL, and `ca.sqlite` with the issued-certificate index, the hashed one-time
 * tokens and the revocations. For tests, demos and `npm start`, never for a production fleet (docs/provisioning.md).
 */

export const DEVICE_PROFILES = ['one-stop', 'hospital', 'notary'] as const;
export type DeviceProfile = (typeof DEVICE_PROFILES)[number];

export const DEFAULT_CA_DIR = 'data/dev-ca';
export const DEFAULT_VALIDITY_DAYS = 90;
const CA_VALIDITY_DAYS = 3650;
const CRL_VALIDITY_DAYS = 30;
const DAY_MS = 86_400_000;
const ORGANIZATION = 'CCCD kiosk fleet (DEV CA)';

export const CA_FILES = {
  caKey: 'ca.key.pem',
  caCert: 'ca.cert.pem',
  serverKey: 'est-server.key.pem',
  serverCert: 'est-server.cert.pem',
  database: 'ca.sqlite',
  crlDer: 'crl.der',
  crlPem: 'crl.pem',
} as const;

const SITE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const DEVICE_SERIAL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface TokenRequest {
  site: string;
  profile: DeviceProfile;
  ttlMs: number;
  /** The device's serial number, when the technician knows it; otherwise the CA names the device. */
  deviceSerial?: string;
}

export interface IssuedToken {
  /** The secret: shown once, only its SHA-256 is stored. */
  token: string;
  deviceId: string;
  site: string;
  profile: DeviceProfile;
  expiresAt: Date;
}

export interface CertificateRecord {
  serialNumber: string;
  deviceId: string;
  site: string;
  profile: DeviceProfile;
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  /** How it was issued: `enroll` (a token) or `reenroll` (the previous certificate, named in `replaces`). */
  issuedBy: 'enroll' | 'reenroll';
  replaces: string | null;
  revokedAt: string | null;
}

export interface Issued {
  certificate: x509.X509Certificate;
  record: CertificateRecord;
}

export interface DevCaOptions {
  /** Days a device certificate is valid; renewal happens at two thirds of it. */
  validityDays?: number;
  now?: () => Date;
}

interface DeviceIdentity {
  deviceId: string;
  deviceSerial: string | null;
  site: string;
  profile: DeviceProfile;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (
  token_sha256 TEXT PRIMARY KEY,
  device_id TEXT NOT NULL, device_serial TEXT, site TEXT NOT NULL, profile TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT, used_by_serial TEXT
);
CREATE TABLE IF NOT EXISTS certificates (
  serial TEXT PRIMARY KEY,
  device_id TEXT NOT NULL, device_serial TEXT, site TEXT NOT NULL, profile TEXT NOT NULL,
  subject TEXT NOT NULL, not_before TEXT NOT NULL, not_after TEXT NOT NULL, fingerprint256 TEXT NOT NULL,
  issued_by TEXT NOT NULL, replaces TEXT, revoked_at TEXT, der BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS crl_state (id INTEGER PRIMARY KEY CHECK (id = 1), crl_number INTEGER NOT NULL);
INSERT OR IGNORE INTO crl_state (id, crl_number) VALUES (1, 0);
`;

interface CertificateRow {
  serial: string;
  device_id: string;
  device_serial: string | null;
  site: string;
  profile: DeviceProfile;
  subject: string;
  not_before: string;
  not_after: string;
  fingerprint256: string;
  issued_by: 'enroll' | 'reenroll';
  replaces: string | null;
  revoked_at: string | null;
}

function toRecord(row: CertificateRow): CertificateRecord {
  return {
    serialNumber: row.serial,
    deviceId: row.device_id,
    site: row.site,
    profile: row.profile,
    subject: row.subject,
    notBefore: row.not_before,
    notAfter: row.not_after,
    fingerprint256: row.fingerprint256,
    issuedBy: row.issued_by,
    replaces: row.replaces,
    revokedAt: row.revoked_at,
  };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A positive 127-bit serial in upper-case hex, as OpenSSL and node:crypto print it. */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex').toUpperCase();
}

/** Serial numbers as people type them (colons, lower case, leading zeros) compared in one form. */
export function normalizeSerial(text: string): string {
  return text.replace(/[\s:]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
}

function writePrivate(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
}

function newEcKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

async function publicKeyOf(privatePem: string): Promise<CryptoKey> {
  const der = createPublicKey(privatePem).export({ format: 'der', type: 'spki' });
  return webcrypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
}

function subjectOf(identity: DeviceIdentity): x509.JsonName {
  return [
    { C: ['VN'] },
    { O: [ORGANIZATION] },
    { OU: [identity.profile] },
    { L: [identity.site] },
    ...(identity.deviceSerial === null ? [] : [{ '2.5.4.5': [identity.deviceSerial] }]),
    { CN: [identity.deviceId] },
  ];
}

export class DevCa {
  private constructor(
    readonly dir: string,
    readonly certificate: x509.X509Certificate,
    private readonly signingKey: CryptoKey,
    private readonly db: Database.Database,
    private readonly validityDays: number,
    private readonly now: () => Date,
  ) {}

  /** Opens the CA folder, creating the CA, the EST server certificate and the database on first use. */
  static async open(dir: string = DEFAULT_CA_DIR, options: DevCaOptions = {}): Promise<DevCa> {
    const now = options.now ?? ((): Date => new Date());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = (name: keyof typeof CA_FILES): string => join(dir, CA_FILES[name]);
    const hasKey = existsSync(path('caKey'));
    if (hasKey !== existsSync(path('caCert'))) {
      throw new KioskError('PROVISION_CA_STATE_INVALID', `the CA folder ${dir} has only one of ${CA_FILES.caKey} and ${CA_FILES.caCert}; restore the other or empty the folder`);
    }
    if (!hasKey) await createCa(dir, now());
    const readPem = (name: keyof typeof CA_FILES): string => {
      try {
        return readFileSync(path(name), 'utf8');
      } catch (err) {
        throw new KioskError('PROVISION_CA_STATE_INVALID', `cannot read ${path(name)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
      }
    };
    let certificate: x509.X509Certificate;
    let signingKey: CryptoKey;
    try {
      certificate = new x509.X509Certificate(readPem('caCert'));
      signingKey = await importSigningKey(readPem('caKey'));
    } catch (err) {
      if (err instanceof KioskError) throw err;
      throw new KioskError('PROVISION_CA_STATE_INVALID', `the CA key or certificate in ${dir} cannot be read as PEM`, { cause: err });
    }
    const db = new Database(path('database'));
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    const ca = new DevCa(dir, certificate, signingKey, db, options.validityDays ?? DEFAULT_VALIDITY_DAYS, now);
    if (!existsSync(path('serverCert'))) await ca.issueServerCertificate();
    await ca.publishCrl();
    return ca;
  }

  get pem(): string {
    return this.certificate.toString('pem');
  }

  get fingerprint256(): string {
    return fingerprint256(this.certificate.rawData);
  }

  /** The EST server's TLS certificate and key (PEM), issued by this CA for localhost, 127.0.0.1, ::1 and the host name. */
  serverTls(): { cert: string; key: string } {
    return { cert: readFileSync(join(this.dir, CA_FILES.serverCert), 'utf8'), key: readFileSync(join(this.dir, CA_FILES.serverKey), 'utf8') };
  }

  createToken(request: TokenRequest): IssuedToken {
    if (!SITE.test(request.site)) throw new KioskError('USAGE', `the site code "${request.site}" must be 1 to 32 lower-case letters, digits or dashes`);
    if (!DEVICE_PROFILES.includes(request.profile)) throw new KioskError('USAGE', `the profile must be one of ${DEVICE_PROFILES.join(', ')}`);
    if (request.deviceSerial !== undefined && !DEVICE_SERIAL.test(request.deviceSerial)) {
      throw new KioskError('USAGE', `the device serial "${request.deviceSerial}" must be 1 to 64 letters, digits, dots, dashes or underscores`);
    }
    if (!(request.ttlMs > 0)) throw new KioskError('USAGE', 'the token lifetime must be positive');
    const token = randomBytes(24).toString('base64url');
    const deviceId = `${request.site}-${request.deviceSerial ?? randomBytes(4).toString('hex')}`;
    const created = this.now();
    const expiresAt = new Date(created.getTime() + request.ttlMs);
    this.db
      .prepare('INSERT INTO tokens (token_sha256, device_id, device_serial, site, profile, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(sha256(token), deviceId, request.deviceSerial ?? null, request.site, request.profile, created.toISOString(), expiresAt.toISOString());
    return { token, deviceId, site: request.site, profile: request.profile, expiresAt };
  }

  /** simpleenroll: the token names the device; the CSR gives only its key. The token is spent only on success. */
  async enroll(token: string | undefined, csrDer: Uint8Array): Promise<Issued> {
    const hash = sha256(token ?? '');
    const row = this.db.prepare('SELECT device_id, device_serial, site, profile, expires_at, used_at FROM tokens WHERE token_sha256 = ?').get(hash) as
      | { device_id: string; device_serial: string | null; site: string; profile: DeviceProfile; expires_at: string; used_at: string | null }
      | undefined;
    if (token === undefined || token === '' || !row) {
      throw new KioskError('PROVISION_TOKEN_INVALID', 'the enrollment token is missing or unknown to this CA; check it, or ask for a new one with `kiosk-provision ca token`');
    }
    if (row.used_at !== null) throw new KioskError('PROVISION_TOKEN_USED', `the enrollment token was already used on ${row.used_at}; ask for a new one`, { details: { usedAt: row.used_at } });
    if (this.now() >= new Date(row.expires_at)) {
      throw new KioskError('PROVISION_TOKEN_EXPIRED', `the enrollment token expired on ${row.expires_at}; ask for a new one`, { details: { expiresAt: row.expires_at } });
    }
    const { publicKey } = await checkCsr(csrDer);
    const identity: DeviceIdentity = { deviceId: row.device_id, deviceSerial: row.device_serial, site: row.site, profile: row.profile };
    const certificate = await this.issueClientCertificate(identity, publicKey);
    return this.db.transaction(() => {
      // Two requests racing with one token: only the first to mark it gets its certificate recorded.
      const spent = this.db.prepare('UPDATE tokens SET used_at = ?, used_by_serial = ? WHERE token_sha256 = ? AND used_at IS NULL').run(this.now().toISOString(), certificate.serialNumber, hash);
      if (spent.changes !== 1) throw new KioskError('PROVISION_TOKEN_USED', 'the enrollment token was used by another request at the same time; ask for a new one');
      return { certificate, record: this.record(certificate, identity, 'enroll', null) };
    })();
  }

  /** simplereenroll: the caller proved the current certificate over mTLS; the new one keeps its identity. */
  async reenroll(currentDer: Uint8Array | undefined, csrDer: Uint8Array): Promise<Issued> {
    const current = await this.ownCurrentCertificate(currentDer);
    const { publicKey } = await checkCsr(csrDer);
    const identity: DeviceIdentity = { deviceId: current.device_id, deviceSerial: current.device_serial, site: current.site, profile: current.profile };
    const certificate = await this.issueClientCertificate(identity, publicKey);
    return { certificate, record: this.db.transaction(() => this.record(certificate, identity, 'reenroll', current.serial))() };
  }

  /** Marks a certificate revoked and republishes the CRL; revoking twice keeps the first date. */
  async revoke(serial: string): Promise<CertificateRecord> {
    const key = normalizeSerial(serial);
    const row = this.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(key) as CertificateRow | undefined;
    if (!row) throw new KioskError('PROVISION_CA_STATE_INVALID', `this CA never issued a certificate with serial number ${key}; see \`kiosk-provision ca list\``);
    this.db.prepare('UPDATE certificates SET revoked_at = ? WHERE serial = ? AND revoked_at IS NULL').run(this.now().toISOString(), key);
    await this.publishCrl();
    return toRecord(this.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(key) as CertificateRow);
  }

  list(): CertificateRecord[] {
    return (this.db.prepare('SELECT * FROM certificates ORDER BY not_before, serial').all() as CertificateRow[]).map(toRecord);
  }

  /** The current CRL, DER, read from `crl.der`: a `ca revoke` run while `ca serve` runs shows at once. */
  crlDer(): Buffer {
    return readFileSync(join(this.dir, CA_FILES.crlDer));
  }

  close(): void {
    this.db.close();
  }

  private async ownCurrentCertificate(der: Uint8Array | undefined): Promise<CertificateRow> {
    const unknown = (why: string): KioskError => new KioskError('PROVISION_CERT_UNKNOWN', `re-enrollment needs the current certificate over mutual TLS: ${why}; enroll again with a token`);
    if (!der || der.length === 0) throw unknown('none was presented');
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(der);
    } catch {
      throw unknown('the one presented cannot be read');
    }
    const now = this.now();
    if (!(await cert.verify({ publicKey: this.certificate.publicKey, date: now }).catch(() => false))) throw unknown('the one presented was not issued by this CA or is outside its validity');
    const row = this.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(normalizeSerial(cert.serialNumber)) as CertificateRow | undefined;
    if (!row) throw unknown('this CA has no record of the one presented');
    if (row.revoked_at !== null) {
      throw new KioskError('PROVISION_CERT_REVOKED', `the certificate ${row.serial} was revoked on ${row.revoked_at}; enroll again with a new token`, { details: { serialNumber: row.serial } });
    }
    return row;
  }

  private async issueClientCertificate(identity: DeviceIdentity, publicKey: x509.PublicKey): Promise<x509.X509Certificate> {
    const notBefore = new Date(this.now().getTime() - 60_000); // a minute back: a device clock slightly behind still accepts it
    return this.issue({
      serialNumber: newSerial(),
      subject: subjectOf(identity),
      notBefore,
      notAfter: new Date(notBefore.getTime() + this.validityDays * DAY_MS),
      publicKey,
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:kiosk:device:${identity.site}:${identity.deviceId}` }]),
      ],
    });
  }

  private async issueServerCertificate(): Promise<void> {
    const keyPem = newEcKeyPem();
    const notBefore = this.now();
    const certificate = await this.issue({
      serialNumber: newSerial(),
      subject: [{ C: ['VN'] }, { O: [ORGANIZATION] }, { CN: ['EST server (DEV CA)'] }],
      notBefore,
      notAfter: new Date(notBefore.getTime() + 2 * 365 * DAY_MS),
      publicKey: await publicKeyOf(keyPem),
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'localhost' },
          { type: 'dns', value: hostname() },
          { type: 'ip', value: '127.0.0.1' },
          { type: 'ip', value: '::1' },
        ]),
      ],
    });
    writePrivate(join(this.dir, CA_FILES.serverKey), keyPem);
    writeFileSync(join(this.dir, CA_FILES.serverCert), certificate.toString('pem'));
  }

  private async issue(params: {
    serialNumber: string;
    subject: x509.JsonName;
    notBefore: Date;
    notAfter: Date;
    publicKey: x509.PublicKey | CryptoKey;
    extensions: x509.Extension[];
  }): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      ...params,
      issuer: this.certificate.subjectName,
      signingKey: this.signingKey,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate, false),
        await x509.SubjectKeyIdentifierExtension.create(params.publicKey, false),
        ...params.extensions,
      ],
    });
  }

  private record(certificate: x509.X509Certificate, identity: DeviceIdentity, issuedBy: 'enroll' | 'reenroll', replaces: string | null): CertificateRecord {
    const serial = normalizeSerial(certificate.serialNumber);
    this.db
      .prepare(
        `INSERT INTO certificates (serial, device_id, device_serial, site, profile, subject, not_before, not_after, fingerprint256, issued_by, replaces, der)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        serial,
        identity.deviceId,
        identity.deviceSerial,
        identity.site,
        identity.profile,
        certificate.subject,
        certificate.notBefore.toISOString(),
        certificate.notAfter.toISOString(),
        fingerprint256(certificate.rawData),
        issuedBy,
        replaces,
        Buffer.from(certificate.rawData),
      );
    return toRecord(this.db.prepare('SELECT * FROM certificates WHERE serial = ?').get(serial) as CertificateRow);
  }

  private async publishCrl(): Promise<void> {
    const number = this.db.transaction(() => {
      this.db.prepare('UPDATE crl_state SET crl_number = crl_number + 1 WHERE id = 1').run();
      return (this.db.prepare('SELECT crl_number FROM crl_state WHERE id = 1').get() as { crl_number: number }).crl_number;
    })();
    const revoked = this.db.prepare('SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL ORDER BY serial').all() as { serial: string; revoked_at: string }[];
    const thisUpdate = this.now();
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.certificate.subjectName,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + CRL_VALIDITY_DAYS * DAY_MS),
      entries: revoked.map((row) => ({ serialNumber: row.serial, revocationDate: new Date(row.revoked_at) })),
      signingKey: this.signingKey,
      signingAlgorithm: EC_P256,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.certificate, false), new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(number)))],
    });
    writeFileSync(join(this.dir, CA_FILES.crlDer), Buffer.from(crl.rawData));
    // OpenSSL and node:tls read only the "X509 CRL" label, not the library's default "CRL".
    writeFileSync(join(this.dir, CA_FILES.crlPem), x509.PemConverter.encode(crl.rawData, 'X509 CRL'));
  }
}

async function createCa(dir: string, now: Date): Promise<void> {
  const keyPem = newEcKeyPem();
  const publicKey = await publicKeyOf(keyPem);
  const signingKey = await importSigningKey(keyPem);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: [{ C: ['VN'] }, { O: [ORGANIZATION] }, { CN: [`Kiosk Device CA (DEV) ${randomBytes(3).toString('hex')}`] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys: { publicKey, privateKey: signingKey },
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey, false),
    ],
  });
  writePrivate(join(dir, CA_FILES.caKey), keyPem);
  writeFileSync(join(dir, CA_FILES.caCert), certificate.toString('pem'));
}
