import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isKioskError, KioskError } from '@kiosk/common';
import { bytesEqual } from '../encoding/bytes.js';
import { ASN1_TAG, decodeOid, decodeTime } from '../encoding/der.js';
import { decodeTlvList, type Tlv } from '../encoding/tlv.js';
import { verifySignature, verifySignerInfo } from './signature.js';
import {
  asMalformed,
  children,
  decodeInteger,
  expectTag,
  ID_CSCA_MASTER_LIST,
  malformed,
  parseSignedData,
  raw,
  single,
  type SignerIdentifier,
} from './sod.js';

/**
 * The CSCA trust store: the certificates Passive Authentication may end a Document Signer chain in, and the CRLs
 * that revoke Document Signers. Trust comes from three places, and only these:
 *  - a certificate the operator added (file, folder, PEM/DER, or a CSCA entry of a PKD LDIF): trusted as given;
 *  - a certificate pinned by SHA-256 fingerprint in configuration: trusted wherever it was read from;
 *  - a CSCA master list, whose certificates are trusted only if the list's own signature verifies and its signer
 *    certificate was issued by a CSCA that is already trusted or pinned (the signer's own CSCA, which the list
 *    normally contains, therefore has to be pinned before the first import). An unauthenticated list adds nothing.
 */

export interface ParsedCertificate {
  der: Uint8Array;
  /** SHA-256 of the DER, lower-case hex: the name on disk and in pins. */
  fingerprint: string;
  tbs: Uint8Array;
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  serialNumber: bigint;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  keyUsage: KeyUsage | undefined;
  isCa: boolean;
  subjectKeyIdentifier: Uint8Array | undefined;
  authorityKeyIdentifier: Uint8Array | undefined;
}

export interface DistinguishedName {
  der: Uint8Array;
  /** Case- and space-normalized "oid=value" pairs, for the RFC 5280 §7.1 comparison of differently encoded names. */
  canonical: string;
  /** The countryName, upper case, if present. */
  country: string | undefined;
  text: string;
}

export interface KeyUsage {
  digitalSignature: boolean;
  keyCertSign: boolean;
  cRLSign: boolean;
}

export interface ParsedCrl {
  der: Uint8Array;
  fingerprint: string;
  tbs: Uint8Array;
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  issuer: DistinguishedName;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Serial number (decimal) → revocation date. */
  revoked: ReadonlyMap<string, Date>;
  authorityKeyIdentifier: Uint8Array | undefined;
}

export interface PinnedCertificate {
  fingerprint: string;
  country: string;
  note?: string;
}

export type TrustSource = 'added' | 'pinned' | 'master-list';

export interface TrustedCsca {
  certificate: ParsedCertificate;
  source: TrustSource;
}

const OID = {
  countryName: '2.5.4.6',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

const fingerprintOf = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');

const STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1a]);

function parseName(source: Uint8Array, tlv: Tlv): DistinguishedName {
  const pairs: string[] = [];
  const texts: string[] = [];
  let country: string | undefined;
  for (const rdn of children(expectTag(tlv, ASN1_TAG.SEQUENCE, 'Name'))) {
    for (const attribute of children(expectTag(rdn, ASN1_TAG.SET, 'RelativeDistinguishedName'))) {
      const [type, value] = children(expectTag(attribute, ASN1_TAG.SEQUENCE, 'AttributeTypeAndValue'));
      const oid = decodeOid(expectTag(type, ASN1_TAG.OID, 'attribute type').value, malformed);
      if (!value) throw malformed('attribute without a value');
      const text = value.tag === ASN1_TAG.BMP_STRING ? new TextDecoder('utf-16be').decode(value.value) : STRING_TAGS.has(value.tag) ? new TextDecoder().decode(value.value) : Buffer.from(value.value).toString('hex');
      if (oid === OID.countryName) country = text.trim().toUpperCase();
      pairs.push(`${oid}=${text.trim().replace(/\s+/g, ' ').toLowerCase()}`);
      texts.push(`${oid}=${text}`);
    }
  }
  return { der: raw(source, tlv), canonical: pairs.join(','), country, text: texts.join(', ') };
}

function parseExtensions(tlv: Tlv | undefined): Map<string, Uint8Array> {
  const extensions = new Map<string, Uint8Array>();
  if (!tlv) return extensions;
  for (const extension of children(expectTag(children(tlv)[0], ASN1_TAG.SEQUENCE, 'Extensions'))) {
    const fields = children(expectTag(extension, ASN1_TAG.SEQUENCE, 'Extension'));
    const oid = decodeOid(expectTag(fields[0], ASN1_TAG.OID, 'extnID').value, malformed);
    if (extensions.has(oid)) throw malformed(`extension ${oid} appears twice`);
    extensions.set(oid, expectTag(fields[fields.length - 1], ASN1_TAG.OCTET_STRING, 'extnValue').value);
  }
  return extensions;
}

function parseKeyUsage(value: Uint8Array | undefined): KeyUsage | undefined {
  if (!value) return undefined;
  const bits = single(value, ASN1_TAG.BIT_STRING, 'KeyUsage').value;
  const first = bits[1] ?? 0;
  return { digitalSignature: (first & 0x80) !== 0, keyCertSign: (first & 0x04) !== 0, cRLSign: (first & 0x02) !== 0 };
}

function parseAuthorityKeyIdentifier(value: Uint8Array | undefined): Uint8Array | undefined {
  if (!value) return undefined;
  return children(single(value, ASN1_TAG.SEQUENCE, 'AuthorityKeyIdentifier')).find((f) => f.tag === 0x80)?.value;
}

/** Parses an X.509 certificate; LDS_MALFORMED when it is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  return asMalformed('certificate', () => {
    const certificate = single(der, ASN1_TAG.SEQUENCE, 'Certificate');
    const [tbsTlv, algorithmTlv, signatureTlv] = children(certificate);
    const tbs = expectTag(tbsTlv, ASN1_TAG.SEQUENCE, 'tbsCertificate');
    const fields = children(tbs);
    const offset = fields[0]?.tag === ASN1_TAG.CONTEXT_0 ? 1 : 0;
    const [serial, , issuer, validity, subject, spki] = fields.slice(offset);
    const [notBefore, notAfter] = children(expectTag(validity, ASN1_TAG.SEQUENCE, 'Validity'));
    const extensions = parseExtensions(fields.find((f) => f.tag === ASN1_TAG.CONTEXT_3));
    const basicConstraints = extensions.get(OID.basicConstraints);
    const constraints = basicConstraints ? children(single(basicConstraints, ASN1_TAG.SEQUENCE, 'BasicConstraints')) : [];
    const ski = extensions.get(OID.subjectKeyIdentifier);
    return {
      der,
      fingerprint: fingerprintOf(der),
      tbs: raw(certificate.value, tbs),
      signatureAlgorithm: raw(certificate.value, expectTag(algorithmTlv, ASN1_TAG.SEQUENCE, 'signatureAlgorithm')),
      signature: bitStringBytes(expectTag(signatureTlv, ASN1_TAG.BIT_STRING, 'signatureValue')),
      serialNumber: decodeInteger(expectTag(serial, ASN1_TAG.INTEGER, 'serialNumber').value),
      issuer: parseName(tbs.value, expectTag(issuer, ASN1_TAG.SEQUENCE, 'issuer')),
      subject: parseName(tbs.value, expectTag(subject, ASN1_TAG.SEQUENCE, 'subject')),
      notBefore: decodeTime(present(notBefore, 'notBefore'), malformed),
      notAfter: decodeTime(present(notAfter, 'notAfter'), malformed),
      spki: raw(tbs.value, expectTag(spki, ASN1_TAG.SEQUENCE, 'subjectPublicKeyInfo')),
      keyUsage: parseKeyUsage(extensions.get(OID.keyUsage)),
      isCa: constraints[0]?.tag === ASN1_TAG.BOOLEAN && constraints[0].value[0] !== 0,
      subjectKeyIdentifier: ski ? single(ski, ASN1_TAG.OCTET_STRING, 'SubjectKeyIdentifier').value : undefined,
      authorityKeyIdentifier: parseAuthorityKeyIdentifier(extensions.get(OID.authorityKeyIdentifier)),
    };
  });
}

function present(tlv: Tlv | undefined, what: string): Tlv {
  if (!tlv) throw malformed(`${what} missing`);
  return tlv;
}

/** The signature bytes of a BIT STRING, which must have no unused bits. */
function bitStringBytes(tlv: Tlv): Uint8Array {
  if (tlv.value[0] !== 0) throw malformed('signature BIT STRING with unused bits');
  return tlv.value.subarray(1);
}

/** Parses an X.509 v2 CRL; LDS_MALFORMED when it is not one. */
export function parseCrl(der: Uint8Array): ParsedCrl {
  return asMalformed('CRL', () => {
    const list = single(der, ASN1_TAG.SEQUENCE, 'CertificateList');
    const [tbsTlv, algorithmTlv, signatureTlv] = children(list);
    const tbs = expectTag(tbsTlv, ASN1_TAG.SEQUENCE, 'tbsCertList');
    const fields = children(tbs);
    const offset = fields[0]?.tag === ASN1_TAG.INTEGER ? 1 : 0;
    const [, issuer, thisUpdate, ...rest] = fields.slice(offset);
    const nextUpdate = rest[0] && (rest[0].tag === ASN1_TAG.UTC_TIME || rest[0].tag === ASN1_TAG.GENERALIZED_TIME) ? rest[0] : undefined;
    const revoked = new Map<string, Date>();
    for (const entry of rest.find((f) => f.tag === ASN1_TAG.SEQUENCE) ? children(rest.find((f) => f.tag === ASN1_TAG.SEQUENCE) as Tlv) : []) {
      const [serial, date] = children(expectTag(entry, ASN1_TAG.SEQUENCE, 'revokedCertificate'));
      revoked.set(decodeInteger(expectTag(serial, ASN1_TAG.INTEGER, 'userCertificate').value).toString(), decodeTime(present(date, 'revocationDate'), malformed));
    }
    const extensions = parseExtensions(rest.find((f) => f.tag === ASN1_TAG.CONTEXT_0));
    return {
      der,
      fingerprint: fingerprintOf(der),
      tbs: raw(list.value, tbs),
      signatureAlgorithm: raw(list.value, expectTag(algorithmTlv, ASN1_TAG.SEQUENCE, 'signatureAlgorithm')),
      signature: bitStringBytes(expectTag(signatureTlv, ASN1_TAG.BIT_STRING, 'signature')),
      issuer: parseName(tbs.value, expectTag(issuer, ASN1_TAG.SEQUENCE, 'issuer')),
      thisUpdate: decodeTime(present(thisUpdate, 'thisUpdate'), malformed),
      nextUpdate: nextUpdate && decodeTime(nextUpdate, malformed),
      revoked,
      authorityKeyIdentifier: parseAuthorityKeyIdentifier(extensions.get(OID.authorityKeyIdentifier)),
    };
  });
}

/** Whether `issuer`'s key signed `subject` (a certificate or a CRL). */
export function signedBy(subject: { tbs: Uint8Array; signatureAlgorithm: Uint8Array; signature: Uint8Array }, issuer: ParsedCertificate) {
  return verifySignature({ spki: issuer.spki, algorithm: subject.signatureAlgorithm, data: subject.tbs, signature: subject.signature });
}

/** Issuer name matches and, where both carry them, the authority key identifier equals the subject key identifier. */
export function namesIssuer(candidate: ParsedCertificate, issued: { issuer: DistinguishedName; authorityKeyIdentifier: Uint8Array | undefined }): boolean {
  if (candidate.subject.canonical !== issued.issuer.canonical) return false;
  const { authorityKeyIdentifier } = issued;
  return !authorityKeyIdentifier || !candidate.subjectKeyIdentifier || bytesEqual(authorityKeyIdentifier, candidate.subjectKeyIdentifier);
}

export class TrustStore {
  readonly #cscas = new Map<string, TrustedCsca>();
  readonly #crls = new Map<string, ParsedCrl>();
  readonly #pins: ReadonlyMap<string, PinnedCertificate>;

  constructor(pins: readonly PinnedCertificate[] = []) {
    this.#pins = new Map(pins.map((p) => [p.fingerprint.toLowerCase().replace(/[^0-9a-f]/g, ''), p]));
  }

  /** Trusts a CSCA certificate; a pinned one is checked against its pin's country. */
  addCsca(der: Uint8Array, source: TrustSource = 'added'): TrustedCsca {
    const certificate = parseCertificate(der);
    const pin = this.#pins.get(certificate.fingerprint);
    if (pin && pin.country.toUpperCase() !== certificate.subject.country) {
      throw new KioskError('CONFIG_INVALID', `pin ${pin.fingerprint} says country ${pin.country}, the certificate says ${certificate.subject.country ?? 'none'}`);
    }
    const entry: TrustedCsca = { certificate, source: pin ? 'pinned' : source };
    this.#cscas.set(certificate.fingerprint, entry);
    return entry;
  }

  addCrl(der: Uint8Array): ParsedCrl {
    const crl = parseCrl(der);
    this.#crls.set(crl.fingerprint, crl);
    return crl;
  }

  isPinned(fingerprint: string): boolean {
    return this.#pins.has(fingerprint);
  }

  cscas(): TrustedCsca[] {
    return [...this.#cscas.values()];
  }

  crls(): ParsedCrl[] {
    return [...this.#crls.values()];
  }

  /** The trusted CSCAs whose name (and key identifier) say they issued `issued`. */
  issuersOf(issued: { issuer: DistinguishedName; authorityKeyIdentifier: Uint8Array | undefined }): TrustedCsca[] {
    return this.cscas().filter((c) => namesIssuer(c.certificate, issued));
  }

  /**
   * Imports a CSCA master list (ICAO 9303-12 §9, CMS SignedData over CscaMasterList). Verified as the class comment
   * says; returns the fingerprints of the CSCAs added, or throws LDS_MALFORMED / TRUST_SOURCE_UNTRUSTED saying why not.
   */
  importMasterList(bytes: Uint8Array, at: Date = new Date()): string[] {
    const signed = parseSignedData(bytes);
    if (signed.eContentType !== ID_CSCA_MASTER_LIST) throw malformed(`content type ${signed.eContentType} is not a CSCA master list`);
    const listed = parseMasterListContent(signed.eContent);
    const signerDer = signed.certificates.find((der) => identifies(signed.signerInfo.sid, parseCertificate(der)));
    if (!signerDer) throw malformed('the master list does not carry its signer certificate');
    const signer = parseCertificate(signerDer);
    const signature = verifySignerInfo(signed, signer.spki);
    if (signature.outcome !== 'passed') throw untrusted(`master list signature: ${signature.reason}`);
    if (signer.notBefore > at || signer.notAfter < at) throw untrusted('master list signer certificate is not valid now');
    const anchors = [...this.cscas().map((c) => c.certificate), ...listed.filter((c) => this.#pins.has(c.fingerprint))];
    const anchor = anchors.find((c) => namesIssuer(c, signer) && (c.keyUsage?.keyCertSign ?? false) && signedBy(signer, c).outcome === 'passed');
    if (!anchor) throw untrusted('the master list signer does not chain to a trusted or pinned CSCA');
    return listed.map((c) => this.addCsca(c.der, 'master-list').certificate.fingerprint);
  }
}

function untrusted(message: string): KioskError {
  return new KioskError('TRUST_SOURCE_UNTRUSTED', message);
}

/** CscaMasterList ::= SEQUENCE { version INTEGER (v0), certList SET OF Certificate } */
function parseMasterListContent(content: Uint8Array): ParsedCertificate[] {
  return asMalformed('CscaMasterList', () => {
    const [version, certList] = children(single(content, ASN1_TAG.SEQUENCE, 'CscaMasterList'));
    if (decodeInteger(expectTag(version, ASN1_TAG.INTEGER, 'version').value) !== 0n) throw malformed('CscaMasterList version is not v0');
    const set = expectTag(certList, ASN1_TAG.SET, 'certList');
    return children(set).map((c) => parseCertificate(raw(set.value, c)));
  });
}

/** Whether `certificate` is the one a SignerInfo's sid names. */
export function identifies(sid: SignerIdentifier, certificate: ParsedCertificate): boolean {
  if ('subjectKeyIdentifier' in sid) return certificate.subjectKeyIdentifier !== undefined && bytesEqual(sid.subjectKeyIdentifier, certificate.subjectKeyIdentifier);
  if (sid.serialNumber !== certificate.serialNumber) return false;
  // The sid's issuer Name is only tag-checked when the SignerInfo is parsed; its content is read here.
  const issuer = asMalformed('SignerInfo.sid issuer', () => parseName(sid.issuer, decodeTlvList(sid.issuer)[0] as Tlv));
  return issuer.canonical === certificate.issuer.canonical;
}

const PEM_BLOCK = /-----BEGIN (CERTIFICATE|X509 CRL)-----([\s\S]*?)-----END \1-----/g;

export interface TrustObject {
  kind: 'certificate' | 'crl';
  der: Uint8Array;
}

/** The certificates and CRLs in a PEM or DER file; DER is told apart by trying to parse it as a certificate. */
export function readTrustObjects(bytes: Uint8Array): TrustObject[] {
  const text = new TextDecoder('latin1').decode(bytes);
  if (text.includes('-----BEGIN ')) {
    return [...text.matchAll(PEM_BLOCK)].map((m) => ({ kind: m[1] === 'CERTIFICATE' ? 'certificate' : 'crl', der: new Uint8Array(Buffer.from(m[2] ?? '', 'base64')) }));
  }
  try {
    parseCertificate(bytes);
    return [{ kind: 'certificate', der: bytes }];
  } catch (err) {
    if (!isKioskError(err, 'LDS_MALFORMED')) throw err;
    try {
      parseCrl(bytes);
      return [{ kind: 'crl', der: bytes }];
    } catch (crlErr) {
      if (!isKioskError(crlErr, 'LDS_MALFORMED')) throw crlErr;
      throw new KioskError('TRUST_FILE_INVALID', 'neither PEM nor a DER X.509 certificate or CRL', { cause: crlErr });
    }
  }
}

export interface LdifContent {
  masterLists: Uint8Array[];
  certificates: Uint8Array[];
  crls: Uint8Array[];
}

/** The binary attributes of an ICAO PKD LDIF (RFC 2849: folded lines start with one space, `::` means base64). */
export function parseLdif(text: string): LdifContent {
  const content: LdifContent = { masterLists: [], certificates: [], crls: [] };
  const lines = text.replace(/\r\n/g, '\n').replace(/\n /g, '').split('\n');
  for (const line of lines) {
    const match = /^([A-Za-z;]+):: ?(.*)$/.exec(line);
    if (!match) continue;
    const value = new Uint8Array(Buffer.from(match[2] ?? '', 'base64'));
    const attribute = (match[1] ?? '').toLowerCase();
    if (attribute === 'cscamasterlistdata') content.masterLists.push(value);
    else if (attribute === 'usercertificate;binary') content.certificates.push(value);
    else if (attribute === 'certificaterevocationlist;binary') content.crls.push(value);
  }
  return content;
}

/** Reads the pins file: a JSON array of { fingerprint, country, note? }. */
export async function readPins(file: string): Promise<PinnedCertificate[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new KioskError('CONFIG_FILE_UNREADABLE', `pins file ${file} is unreadable or not JSON`, { cause: err });
  }
  const valid = (p: unknown): p is PinnedCertificate =>
    typeof p === 'object' && p !== null && typeof (p as PinnedCertificate).fingerprint === 'string' && /^[0-9a-f:]{64,95}$/i.test((p as PinnedCertificate).fingerprint) && typeof (p as PinnedCertificate).country === 'string';
  if (!Array.isArray(parsed) || !parsed.every(valid)) throw new KioskError('CONFIG_INVALID', `pins file ${file} must list { fingerprint: SHA-256 hex, country, note? }`);
  return parsed;
}

const CSCA_DIR = 'csca';
const CRL_DIR = 'crl';

/**
 * Loads a trust folder (csca/*.der, crl/*.der, as `add` and `importTrustFile` write them) under the given pins,
 * plus any PEM/DER certificate or CRL files dropped at its top level (*.pem, *.crt, *.cer, *.der, *.crl).
 */
export async function loadTrustStore(folder: string, pins: readonly PinnedCertificate[] = []): Promise<TrustStore> {
  const store = new TrustStore(pins);
  for (const [path, der] of await readFolder(join(folder, CSCA_DIR))) inFile(path, () => store.addCsca(der));
  for (const [path, der] of await readFolder(join(folder, CRL_DIR))) inFile(path, () => store.addCrl(der));
  for (const [path, bytes] of await readFolder(folder, LOOSE_FILE)) {
    inFile(path, () => {
      for (const object of readTrustObjects(bytes)) {
        if (object.kind === 'crl') store.addCrl(object.der);
        else store.addCsca(object.der);
      }
    });
  }
  return store;
}

/** A damaged file in the trust folder is named in the error, so the operator knows which one to remove. */
function inFile(path: string, load: () => void): void {
  try {
    load();
  } catch (err) {
    if (isKioskError(err, 'LDS_MALFORMED')) throw new KioskError('TRUST_FILE_INVALID', `trust folder file ${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

const LOOSE_FILE = /\.(pem|crt|cer|der|crl)$/i;

async function readFolder(folder: string, pattern = /\.der$/): Promise<Array<[string, Uint8Array]>> {
  let names: string[];
  try {
    names = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile() && pattern.test(e.name)).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KioskError('CONFIG_FILE_UNREADABLE', `trust folder ${folder} is unreadable`, { cause: err });
  }
  return Promise.all(names.map(async (n): Promise<[string, Uint8Array]> => [join(folder, n), new Uint8Array(await readFile(join(folder, n)))]));
}

export interface TrustEntry {
  kind: 'csca' | 'crl';
  fingerprint: string;
  name: string;
  country: string | undefined;
  /** Certificate notAfter, or CRL nextUpdate. */
  until: Date | undefined;
}

/** Writes certificates and CRLs (PEM or DER) into the trust folder, one DER file each named by fingerprint. */
export async function addToTrustFolder(folder: string, bytes: Uint8Array): Promise<TrustEntry[]> {
  const objects = readTrustObjects(bytes);
  if (objects.length === 0) throw new KioskError('TRUST_FILE_INVALID', 'the file holds no certificate or CRL');
  return Promise.all(objects.map((o) => (o.kind === 'certificate' ? writeCsca(folder, o.der) : writeCrl(folder, o.der))));
}

async function writeCsca(folder: string, der: Uint8Array): Promise<TrustEntry> {
  const certificate = parseCertificate(der);
  if (!certificate.isCa && !certificate.keyUsage?.keyCertSign) throw new KioskError('TRUST_FILE_INVALID', `${certificate.subject.text} is not a CA certificate (a Document Signer? EF.SOD carries those)`);
  await writeDer(join(folder, CSCA_DIR), certificate.fingerprint, der);
  return cscaEntry(certificate);
}

async function writeCrl(folder: string, der: Uint8Array): Promise<TrustEntry> {
  const crl = parseCrl(der);
  await writeDer(join(folder, CRL_DIR), crl.fingerprint, der);
  return { kind: 'crl', fingerprint: crl.fingerprint, name: crl.issuer.text, country: crl.issuer.country, until: crl.nextUpdate };
}

async function writeDer(folder: string, fingerprint: string, der: Uint8Array): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, `${fingerprint}.der`), der);
}

const cscaEntry = (c: ParsedCertificate): TrustEntry => ({ kind: 'csca', fingerprint: c.fingerprint, name: c.subject.text, country: c.subject.country, until: c.notAfter });

export async function listTrustFolder(folder: string): Promise<TrustEntry[]> {
  const store = await loadTrustStore(folder);
  return [
    ...store.cscas().map((c) => cscaEntry(c.certificate)),
    ...store.crls().map((crl): TrustEntry => ({ kind: 'crl', fingerprint: crl.fingerprint, name: crl.issuer.text, country: crl.issuer.country, until: crl.nextUpdate })),
  ];
}

async function readTrustFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    throw new KioskError('CONFIG_FILE_UNREADABLE', `cannot read ${file}`, { cause: err });
  }
}

/**
 * Imports a file into the trust folder by its kind: `.ml` master list, `.ldif` PKD export, else PEM/DER.
 * Master lists are verified against the folder's CSCAs and the pins first.
 */
export async function importTrustFile(folder: string, file: string, pins: readonly PinnedCertificate[] = [], at: Date = new Date()): Promise<TrustEntry[]> {
  const lower = file.toLowerCase();
  if (lower.endsWith('.ml')) return importMasterListFile(folder, file, pins, at);
  if (lower.endsWith('.ldif')) return importLdifFile(folder, file, pins, at);
  return addToTrustFolder(folder, await readTrustFile(file));
}

/** Imports an ICAO CSCA master list file after verifying it (TrustStore.importMasterList); writes nothing when it is refused. */
export async function importMasterListFile(folder: string, file: string, pins: readonly PinnedCertificate[] = [], at: Date = new Date()): Promise<TrustEntry[]> {
  return importMasterListInto(folder, await readTrustFile(file), pins, at);
}

/**
 * Imports an ICAO PKD LDIF: its CA certificates, CRLs and (verified) master lists. Document Signer certificates
 * are skipped since the SOD carries them.
 */
export async function importLdifFile(folder: string, file: string, pins: readonly PinnedCertificate[] = [], at: Date = new Date()): Promise<TrustEntry[]> {
  const ldif = parseLdif(new TextDecoder().decode(await readTrustFile(file)));
  if (ldif.certificates.length + ldif.crls.length + ldif.masterLists.length === 0) {
    throw new KioskError('TRUST_FILE_INVALID', `${file} holds no userCertificate;binary, certificateRevocationList;binary or CscaMasterListData entry`);
  }
  const entries: TrustEntry[] = [];
  for (const der of ldif.certificates) {
    const certificate = parseCertificate(der);
    if (certificate.isCa || certificate.keyUsage?.keyCertSign) entries.push(await writeCsca(folder, der));
  }
  for (const der of ldif.crls) entries.push(await writeCrl(folder, der));
  for (const ml of ldif.masterLists) entries.push(...(await importMasterListInto(folder, ml, pins, at)));
  return entries;
}

async function importMasterListInto(folder: string, bytes: Uint8Array, pins: readonly PinnedCertificate[], at: Date): Promise<TrustEntry[]> {
  const store = await loadTrustStore(folder, pins);
  const added = new Set(store.importMasterList(bytes, at));
  const certificates = store.cscas().filter((c) => added.has(c.certificate.fingerprint));
  return Promise.all(certificates.map((c) => writeCsca(folder, c.certificate.der)));
}
