import type { KeyAlgorithm } from '../crypto/kdf.js';
import type {
  ActiveAuthenticationInfo,
  ChipAuthenticationInfo,
  ChipAuthenticationPublicKeyInfo,
  PaceDomainParameterInfo,
  PaceInfo,
  SecurityInfo,
  TerminalAuthenticationInfo,
} from '../security-infos-types.js';
import { ASN1_TAG, decodeOid, encodeOid } from '../../encoding/der.js';
import { decodeTlv, decodeTlvList, encodeTlv, type Tlv } from '../../encoding/tlv.js';
import { dataGroupFile, decodeSmallUnsigned, EF_CARD_ACCESS, encodeSmallUnsigned, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';

/**
 * SecurityInfos (ICAO 9303-11 §9.2): EF.CardAccess is a bare SET OF SecurityInfo, DG14 wraps the same SET in
 * tag 6E. Each SecurityInfo is SEQUENCE { protocol OID, requiredData, optionalData OPTIONAL }; the protocol OID
 * decides the record kind, and records we do not interpret are kept whole.
 */

/** bsi-de (0.4.0.127.0.7) protocols.smartcard: the arcs ICAO adopted for PACE, TA, CA. */
const BSI_SMARTCARD_PROTOCOLS = '0.4.0.127.0.7.2.2';
const ID_PK = `${BSI_SMARTCARD_PROTOCOLS}.1`;
const ID_TA = `${BSI_SMARTCARD_PROTOCOLS}.2`;
const ID_CA = `${BSI_SMARTCARD_PROTOCOLS}.3`;
const ID_PACE = `${BSI_SMARTCARD_PROTOCOLS}.4`;
const ID_AA = '2.23.136.1.1.5';

export type KeyAgreement = 'DH' | 'ECDH';
export type PaceMapping = 'GM' | 'IM' | 'CAM';

/** What a PACE or Chip Authentication protocol OID stands for. */
export interface ProtocolSuite {
  oid: string;
  /** ICAO / BSI name, e.g. id-PACE-ECDH-GM-AES-CBC-CMAC-128. */
  name: string;
  keyAgreement: KeyAgreement;
  /** PACE only. */
  mapping: PaceMapping | undefined;
  cipher: KeyAlgorithm;
}

const CIPHERS: readonly (readonly [arc: number, cipher: KeyAlgorithm, suffix: string])[] = [
  [1, '3DES', '3DES-CBC-CBC'],
  [2, 'AES-128', 'AES-CBC-CMAC-128'],
  [3, 'AES-192', 'AES-CBC-CMAC-192'],
  [4, 'AES-256', 'AES-CBC-CMAC-256'],
];

/** id-PACE-<KA>-<mapping> arcs (9303-11 §9.2.3); CAM exists only with ECDH and AES. */
const PACE_FAMILIES: readonly (readonly [arc: number, keyAgreement: KeyAgreement, mapping: PaceMapping])[] = [
  [1, 'DH', 'GM'],
  [2, 'ECDH', 'GM'],
  [3, 'DH', 'IM'],
  [4, 'ECDH', 'IM'],
  [6, 'ECDH', 'CAM'],
];

export const PACE_PROTOCOLS: readonly ProtocolSuite[] = PACE_FAMILIES.flatMap(([arc, keyAgreement, mapping]) =>
  CIPHERS.filter(([, cipher]) => mapping !== 'CAM' || cipher !== '3DES').map(([cipherArc, cipher, suffix]) => ({
    oid: `${ID_PACE}.${arc}.${cipherArc}`,
    name: `id-PACE-${keyAgreement}-${mapping}-${suffix}`,
    keyAgreement,
    mapping,
    cipher,
  })),
);

export const CA_PROTOCOLS: readonly ProtocolSuite[] = (['DH', 'ECDH'] as const).flatMap((keyAgreement, i) =>
  CIPHERS.map(([cipherArc, cipher, suffix]) => ({ oid: `${ID_CA}.${i + 1}.${cipherArc}`, name: `id-CA-${keyAgreement}-${suffix}`, keyAgreement, mapping: undefined, cipher })),
);

export function paceProtocol(oid: string): ProtocolSuite | undefined {
  return PACE_PROTOCOLS.find((p) => p.oid === oid);
}

export function chipAuthenticationProtocol(oid: string): ProtocolSuite | undefined {
  return CA_PROTOCOLS.find((p) => p.oid === oid);
}

/** The id-PACE-<KA>-<mapping> OIDs that PACEDomainParameterInfo names (no cipher arc). */
const PACE_DOMAIN_PARAMETER_OIDS = new Set(PACE_FAMILIES.map(([arc]) => `${ID_PACE}.${arc}`));
const CA_PUBLIC_KEY_OIDS = new Set([`${ID_PK}.1`, `${ID_PK}.2`]);

function expectTag(tlv: Tlv | undefined, tag: number, file: string, what: string): Tlv {
  if (tlv?.tag !== tag) throw ldsMalformed(file, `${what}: expected tag ${tag.toString(16).toUpperCase()}`);
  return tlv;
}

/** One SecurityInfo; `source` is the buffer `info` was decoded from (its offsets refer to it). */
function parseSecurityInfo(info: Tlv, source: Uint8Array, file: string): SecurityInfo {
  const content = expectTag(info, ASN1_TAG.SEQUENCE, file, 'SecurityInfo').value;
  const [oidTlv, required, optional, ...extra] = decodeTlvList(content);
  const protocol = decodeOid(expectTag(oidTlv, ASN1_TAG.OID, file, 'SecurityInfo protocol').value, (message) => ldsMalformed(file, message));
  const what = `SecurityInfo ${protocol}`;
  const parsed = parseKnownSecurityInfo(protocol, required, optional, content, file);
  if (!parsed) return { kind: 'unknown', protocol, raw: tlvBytes(source, info) };
  if (extra.length > 0) throw ldsMalformed(file, `${what} has ${extra.length} unexpected extra elements`);
  return parsed;
}

function parseKnownSecurityInfo(protocol: string, required: Tlv | undefined, optional: Tlv | undefined, content: Uint8Array, file: string): SecurityInfo | undefined {
  const what = `SecurityInfo ${protocol}`;
  const integer = (tlv: Tlv | undefined, name: string): number => decodeSmallUnsigned(expectTag(tlv, ASN1_TAG.INTEGER, file, `${what} ${name}`), file, `${what} ${name}`);
  const optionalInteger = (name: string): number | undefined => (optional === undefined ? undefined : integer(optional, name));

  if (paceProtocol(protocol)) {
    return { kind: 'pace', protocol, version: integer(required, 'version'), parameterId: optionalInteger('parameterId') } satisfies PaceInfo;
  }
  if (PACE_DOMAIN_PARAMETER_OIDS.has(protocol)) {
    const domainParameter = tlvBytes(content, expectTag(required, ASN1_TAG.SEQUENCE, file, `${what} domain parameters`));
    return { kind: 'pace-domain-parameters', protocol, domainParameter, parameterId: optionalInteger('parameterId') } satisfies PaceDomainParameterInfo;
  }
  if (chipAuthenticationProtocol(protocol)) {
    return { kind: 'chip-authentication', protocol, version: integer(required, 'version'), keyId: optionalInteger('keyId') } satisfies ChipAuthenticationInfo;
  }
  if (CA_PUBLIC_KEY_OIDS.has(protocol)) {
    const subjectPublicKeyInfo = tlvBytes(content, expectTag(required, ASN1_TAG.SEQUENCE, file, `${what} public key`));
    return { kind: 'chip-authentication-public-key', protocol, subjectPublicKeyInfo, keyId: optionalInteger('keyId') } satisfies ChipAuthenticationPublicKeyInfo;
  }
  if (protocol === ID_TA) {
    // The optional element is the deprecated EF.CVCA file id (9303-11 §9.2.6), of no use to a kiosk.
    return { kind: 'terminal-authentication', protocol, version: integer(required, 'version') } satisfies TerminalAuthenticationInfo;
  }
  if (protocol === ID_AA) {
    const signatureAlgorithm = decodeOid(expectTag(optional, ASN1_TAG.OID, file, `${what} signature algorithm`).value, (message) => ldsMalformed(file, message));
    return { kind: 'active-authentication', protocol, version: integer(required, 'version'), signatureAlgorithm } satisfies ActiveAuthenticationInfo;
  }
  return undefined;
}

/** A copy of the TLV's own bytes out of `source`, so results do not alias the caller's buffer. */
function tlvBytes(source: Uint8Array, tlv: Tlv): Uint8Array {
  return source.slice(tlv.start, tlv.end);
}

function parseSet(bytes: Uint8Array, file: string): SecurityInfo[] {
  const set = decodeTlv(bytes, 0);
  if (set.tag !== ASN1_TAG.SET) throw ldsMalformed(file, `expected a SecurityInfos SET (31), found tag ${set.tag.toString(16).toUpperCase()}`);
  if (set.end !== bytes.length) throw ldsMalformed(file, `${bytes.length - set.end} bytes after the SecurityInfos`);
  return decodeTlvList(set.value).map((info) => parseSecurityInfo(info, set.value, file));
}

/** SecurityInfos of EF.CardAccess (a bare SET, first byte 31) or of DG14 (6E { SET }). */
export function parseSecurityInfos(bytes: Uint8Array): SecurityInfo[] {
  const dg14 = dataGroupFile(14);
  if (bytes[0] === dg14.tag) return parseSet(unwrapLdsFile(bytes, dg14), dg14.name);
  return parseSet(bytes, EF_CARD_ACCESS.name);
}

function integerIfDefined(n: number | undefined): Uint8Array[] {
  return n === undefined ? [] : [encodeSmallUnsigned(n)];
}

function oidTlv(oid: string): Uint8Array {
  return encodeTlv(ASN1_TAG.OID, encodeOid(oid));
}

function encodeSecurityInfo(info: SecurityInfo): Uint8Array {
  switch (info.kind) {
    case 'pace':
      return encodeTlv(ASN1_TAG.SEQUENCE, oidTlv(info.protocol), encodeSmallUnsigned(info.version), ...integerIfDefined(info.parameterId));
    case 'pace-domain-parameters':
      return encodeTlv(ASN1_TAG.SEQUENCE, oidTlv(info.protocol), info.domainParameter, ...integerIfDefined(info.parameterId));
    case 'chip-authentication':
      return encodeTlv(ASN1_TAG.SEQUENCE, oidTlv(info.protocol), encodeSmallUnsigned(info.version), ...integerIfDefined(info.keyId));
    case 'chip-authentication-public-key':
      return encodeTlv(ASN1_TAG.SEQUENCE, oidTlv(info.protocol), info.subjectPublicKeyInfo, ...integerIfDefined(info.keyId));
    case 'terminal-authentication':
      return encodeTlv(ASN1_TAG.SEQUENCE, oidTlv(info.protocol), encodeSmallUnsigned(info.version));
    case 'active-authentication':
      return encodeTlv(ASN1_TAG.SEQUENCE, oidTlv(info.protocol), encodeSmallUnsigned(info.version), oidTlv(info.signatureAlgorithm));
    case 'unknown':
      return info.raw;
  }
}

/**
 * The SecurityInfos SET (= EF.CardAccess content) in the order given: DER would sort a SET OF, but cards do not
 * all do so and the SOD hashes the bytes as stored, so a fixture must be able to reproduce either.
 */
export function encodeSecurityInfos(infos: readonly SecurityInfo[]): Uint8Array {
  const encoded = infos.map(encodeSecurityInfo);
  for (const [i, bytes] of encoded.entries()) {
    const info = infos[i]!;
    // Each record must parse back to its own kind, or the card would carry a file its reader misreads.
    let kind: string;
    try {
      const tlv = decodeTlv(bytes, 0);
      if (tlv.end !== bytes.length) throw new RangeError('bytes after the record');
      kind = parseSecurityInfo(tlv, bytes, 'SecurityInfo').kind;
    } catch (cause) {
      throw new RangeError(`SecurityInfo ${info.protocol} (${info.kind}) does not encode to a valid record`, { cause });
    }
    if (kind !== info.kind) throw new RangeError(`SecurityInfo ${info.protocol} encodes as ${kind}, not ${info.kind}`);
  }
  return encodeTlv(ASN1_TAG.SET, ...encoded);
}

export function encodeDg14(infos: readonly SecurityInfo[]): Uint8Array {
  return wrapLdsFile(dataGroupFile(14), encodeSecurityInfos(infos));
}
