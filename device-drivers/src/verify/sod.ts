import { isKioskError, KioskError } from '@kiosk/common';
import { ASN1_TAG, decodeOid } from '../encoding/der.js';
import { decodeTlv, decodeTlvList, encodeTlv, type Tlv } from '../encoding/tlv.js';

/**
 * EF.SOD (ICAO 9303-10 §4.6.2): tag 0x77 around a CMS ContentInfo (RFC 5652) whose SignedData carries the
 * LDSSecurityObject, the hash of every data group. Walked TLV by TLV rather than through an ASN.1 library because
 * the signature covers the original bytes of the signed attributes and the certificates are fingerprinted as read.
 * The same SignedData walker opens ICAO CSCA master lists.
 */

export const ID_LDS_SECURITY_OBJECT = '2.23.136.1.1.1';
export const ID_CSCA_MASTER_LIST = '2.23.136.1.1.2';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export const HASH_BY_OID: Readonly<Record<string, HashName>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const HASH_LENGTH: Readonly<Record<HashName, number>> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** SignerIdentifier's subjectKeyIdentifier is [0] IMPLICIT OCTET STRING: primitive context tag 0. */
const TAG = { ...ASN1_TAG, SKI: 0x80 } as const;
const EF_SOD_TAG = 0x77;

export type SignerIdentifier = { issuer: Uint8Array; serialNumber: bigint } | { subjectKeyIdentifier: Uint8Array };

export interface CmsSignerInfo {
  sid: SignerIdentifier;
  digestAlgorithm: string;
  /** The signed attributes re-tagged from [0] IMPLICIT to SET (0x31): the bytes the signature covers (RFC 5652 §5.4). */
  signedAttributes: Uint8Array | undefined;
  /** Attribute type OID → the DER of each value. */
  attributes: ReadonlyMap<string, readonly Uint8Array[]>;
  /** DER AlgorithmIdentifier, parameters included (RSA-PSS needs them). */
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
}

export interface CmsSignedData {
  eContentType: string;
  eContent: Uint8Array;
  /** DER of each certificate as it appears in SignedData.certificates. */
  certificates: readonly Uint8Array[];
  signerInfo: CmsSignerInfo;
}

export interface LdsSecurityObject {
  version: number;
  hashAlgorithm: string;
  hash: HashName;
  /** Data group number → hash of the whole EF. */
  dataGroupHashes: ReadonlyMap<number, Uint8Array>;
}

export interface SecurityObject extends CmsSignedData {
  lds: LdsSecurityObject;
}

export function malformed(message: string, cause?: unknown): KioskError {
  return new KioskError('LDS_MALFORMED', message, cause === undefined ? {} : { cause });
}

/**
 * Runs a parse step and reports its structure errors (TLV_MALFORMED from the TLV reader) as LDS_MALFORMED naming
 * `what`. Only those: anything else (a RangeError, a TypeError) is a bug in the parser, and a bug must reach the
 * caller as one rather than become "malformed" and then a verdict on the document.
 */
export function asMalformed<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isKioskError(err, 'TLV_MALFORMED')) throw malformed(`${what}: ${err.message}`, err);
    throw err;
  }
}

/** The single TLV that `bytes` must consist of, with the expected tag. */
export function single(bytes: Uint8Array, tag: number, what: string): Tlv {
  const tlv = decodeTlv(bytes);
  if (tlv.tag !== tag) throw malformed(`${what}: tag ${tlv.tag.toString(16)} where ${tag.toString(16)} belongs`);
  if (tlv.end !== bytes.length) throw malformed(`${what}: ${bytes.length - tlv.end} bytes after the end`);
  return tlv;
}

export function children(tlv: Tlv): Tlv[] {
  return decodeTlvList(tlv.value);
}

export function raw(source: Uint8Array, tlv: Tlv): Uint8Array {
  return source.subarray(tlv.start, tlv.end);
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv?.tag !== tag) throw malformed(`${what} missing or of the wrong type`);
  return tlv;
}

export function decodeInteger(content: Uint8Array): bigint {
  if (content.length === 0) throw malformed('empty INTEGER');
  let value = 0n;
  for (const byte of content) value = (value << 8n) | BigInt(byte);
  return (content[0] ?? 0) & 0x80 ? value - (1n << BigInt(8 * content.length)) : value;
}

/** The OID of an AlgorithmIdentifier TLV. */
export function algorithmOid(tlv: Tlv): string {
  return decodeOid(expectTag(children(tlv)[0], TAG.OID, 'algorithm OID').value, malformed);
}

/** Opens a DER ContentInfo holding SignedData with exactly one SignerInfo, as ICAO 9303 uses them. */
export function parseSignedData(contentInfo: Uint8Array): CmsSignedData {
  return asMalformed('CMS SignedData', () => {
    const [contentType, explicit] = children(single(contentInfo, TAG.SEQUENCE, 'ContentInfo'));
    if (decodeOid(expectTag(contentType, TAG.OID, 'ContentInfo.contentType').value, malformed) !== ID_SIGNED_DATA) throw malformed('ContentInfo does not hold SignedData');
    const signedData = single(expectTag(explicit, TAG.CONTEXT_0, 'ContentInfo.content').value, TAG.SEQUENCE, 'SignedData');
    const source = signedData.value;
    const fields = decodeTlvList(source);
    const [, , encap] = fields;
    const encapFields = children(expectTag(encap, TAG.SEQUENCE, 'encapContentInfo'));
    const eContentType = decodeOid(expectTag(encapFields[0], TAG.OID, 'eContentType').value, malformed);
    const eContentExplicit = expectTag(encapFields[1], TAG.CONTEXT_0, 'eContent');
    const eContent = single(eContentExplicit.value, TAG.OCTET_STRING, 'eContent').value;
    const certificateField = fields.find((f) => f.tag === TAG.CONTEXT_0);
    const certificates = certificateField ? children(certificateField).filter((c) => c.tag === TAG.SEQUENCE).map((c) => certificateField.value.subarray(c.start, c.end)) : [];
    const signerInfos = children(expectTag(fields[fields.length - 1], TAG.SET, 'signerInfos'));
    if (signerInfos.length !== 1) throw malformed(`SignedData has ${signerInfos.length} SignerInfos, ICAO 9303 requires one`);
    return { eContentType, eContent, certificates, signerInfo: parseSignerInfo(signerInfos[0] as Tlv) };
  });
}

function parseSignerInfo(signerInfo: Tlv): CmsSignerInfo {
  const fields = children(expectTag(signerInfo, TAG.SEQUENCE, 'SignerInfo'));
  const [, sidTlv, digestTlv] = fields;
  const sid = parseSignerIdentifier(sidTlv);
  const digestAlgorithm = algorithmOid(expectTag(digestTlv, TAG.SEQUENCE, 'SignerInfo.digestAlgorithm'));
  let next = 3;
  let signedAttributes: Uint8Array | undefined;
  const attributes = new Map<string, Uint8Array[]>();
  const attrsTlv = fields[next];
  if (attrsTlv?.tag === TAG.CONTEXT_0) {
    signedAttributes = encodeTlv(TAG.SET, attrsTlv.value);
    for (const attribute of children(attrsTlv)) {
      const [type, values] = children(expectTag(attribute, TAG.SEQUENCE, 'Attribute'));
      const oid = decodeOid(expectTag(type, TAG.OID, 'Attribute.attrType').value, malformed);
      if (attributes.has(oid)) throw malformed(`signed attribute ${oid} appears twice`);
      const valuesTlv = expectTag(values, TAG.SET, 'Attribute.attrValues');
      attributes.set(oid, children(valuesTlv).map((v) => raw(valuesTlv.value, v)));
    }
    next++;
  }
  const algorithmTlv = expectTag(fields[next], TAG.SEQUENCE, 'SignerInfo.signatureAlgorithm');
  const signature = expectTag(fields[next + 1], TAG.OCTET_STRING, 'SignerInfo.signature').value;
  return { sid, digestAlgorithm, signedAttributes, attributes, signatureAlgorithm: raw(signerInfo.value, algorithmTlv), signature };
}

function parseSignerIdentifier(tlv: Tlv | undefined): SignerIdentifier {
  if (tlv?.tag === TAG.SKI) return { subjectKeyIdentifier: tlv.value };
  const sid = expectTag(tlv, TAG.SEQUENCE, 'SignerInfo.sid');
  const [issuer, serial] = children(sid);
  return { issuer: raw(sid.value, expectTag(issuer, TAG.SEQUENCE, 'sid.issuer')), serialNumber: decodeInteger(expectTag(serial, TAG.INTEGER, 'sid.serialNumber').value) };
}

/** Parses EF.SOD; throws KioskError LDS_MALFORMED on anything that is not a well-formed Document Security Object. */
export function parseSod(efSod: Uint8Array): SecurityObject {
  const contentInfo = asMalformed('EF.SOD', () => single(efSod, EF_SOD_TAG, 'EF.SOD').value);
  const signedData = parseSignedData(contentInfo);
  if (signedData.eContentType !== ID_LDS_SECURITY_OBJECT) throw malformed(`EF.SOD content type ${signedData.eContentType} is not the LDSSecurityObject`);
  return { ...signedData, lds: parseLdsSecurityObject(signedData.eContent) };
}

/** LDSSecurityObject ::= SEQUENCE { version, hashAlgorithm, dataGroupHashValues SEQUENCE OF { number, hash }, ldsVersionInfo OPTIONAL } */
export function parseLdsSecurityObject(bytes: Uint8Array): LdsSecurityObject {
  return asMalformed('LDSSecurityObject', () => {
    const [versionTlv, algorithmTlv, hashesTlv] = children(single(bytes, TAG.SEQUENCE, 'LDSSecurityObject'));
    const version = Number(decodeInteger(expectTag(versionTlv, TAG.INTEGER, 'LDSSecurityObject.version').value));
    if (version !== 0 && version !== 1) throw malformed(`LDSSecurityObject version ${version} is neither v0 nor v1`);
    const hashAlgorithm = algorithmOid(expectTag(algorithmTlv, TAG.SEQUENCE, 'LDSSecurityObject.hashAlgorithm'));
    const hash = HASH_BY_OID[hashAlgorithm];
    if (!hash) throw malformed(`LDSSecurityObject hash algorithm ${hashAlgorithm} is not a SHA family hash`);
    const dataGroupHashes = new Map<number, Uint8Array>();
    for (const entry of children(expectTag(hashesTlv, TAG.SEQUENCE, 'dataGroupHashValues'))) {
      const [numberTlv, valueTlv] = children(expectTag(entry, TAG.SEQUENCE, 'DataGroupHash'));
      const number = decodeInteger(expectTag(numberTlv, TAG.INTEGER, 'dataGroupNumber').value);
      const value = expectTag(valueTlv, TAG.OCTET_STRING, 'dataGroupHashValue').value;
      if (number < 1n || number > 16n) throw malformed(`data group number ${number} is outside 1..16`);
      if (dataGroupHashes.has(Number(number))) throw malformed(`data group ${number} is hashed twice`);
      if (value.length !== HASH_LENGTH[hash]) throw malformed(`DG${number} hash has ${value.length} bytes, ${hash} gives ${HASH_LENGTH[hash]}`);
      dataGroupHashes.set(Number(number), value);
    }
    if (dataGroupHashes.size === 0) throw malformed('LDSSecurityObject lists no data group');
    return { version, hashAlgorithm, hash, dataGroupHashes };
  });
}
