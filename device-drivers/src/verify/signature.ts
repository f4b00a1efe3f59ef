import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { isKioskError } from '@kiosk/common';
import { isOpenSslError } from '../emrtd/crypto/openssl-errors.js';
import { CURVE_OID_BY_PARAMETER_ID, ecDomainById } from '../emrtd/crypto/curves.js';
import { bytesEqual } from '../encoding/bytes.js';
import { ASN1_TAG, decodeOid, encodeOid } from '../encoding/der.js';
import { decodeTlv, decodeTlvList, encodeTlv } from '../encoding/tlv.js';
import {
  algorithmOid,
  asMalformed,
  children,
  decodeInteger,
  expectTag,
  HASH_BY_OID,
  malformed,
  ID_CONTENT_TYPE,
  ID_MESSAGE_DIGEST,
  single,
  type CmsSignedData,
  type HashName,
} from './sod.js';

/**
 * Signature verification by OpenSSL (node:crypto, which knows brainpool) for the schemes CSCAs and Document Signers
 * use: RSA PKCS#1 v1.5, RSASSA-PSS with its parameters, ECDSA with DER or plain (BSI TR-03111) signatures. Keys with
 * explicit EC domain parameters are mapped to the named curve they spell out, since OpenSSL 3 rejects most of them.
 */

export type CheckOutcome = 'passed' | 'failed' | 'not-possible';

export interface CheckResult {
  outcome: CheckOutcome;
  /** Why it failed or could not be done; for 'passed', what was verified. */
  reason: string;
}

export interface SignatureInput {
  /** DER SubjectPublicKeyInfo of the signer. */
  spki: Uint8Array;
  /** DER AlgorithmIdentifier of the signature. */
  algorithm: Uint8Array;
  data: Uint8Array;
  signature: Uint8Array;
  /** The hash to use when the algorithm names none (rsaEncryption in a SignerInfo, RFC 5652 §5.3 allows it). */
  digestAlgorithm?: string;
}

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const PRIME_FIELD = '1.2.840.10045.1.1';

type Scheme = { kind: 'rsa-pkcs1' | 'ecdsa-der' | 'ecdsa-plain'; hash: HashName } | { kind: 'rsa-pss'; hash: HashName; saltLength: number };

const SCHEMES: Readonly<Record<string, Scheme>> = {
  '1.2.840.113549.1.1.5': { kind: 'rsa-pkcs1', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { kind: 'rsa-pkcs1', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { kind: 'rsa-pkcs1', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa-pkcs1', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa-pkcs1', hash: 'sha512' },
  '1.2.840.10045.4.1': { kind: 'ecdsa-der', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { kind: 'ecdsa-der', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa-der', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa-der', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa-der', hash: 'sha512' },
  // BSI TR-03111 ecdsa-plain-SHA*: r || s instead of a DER SEQUENCE.
  '0.4.0.127.0.7.1.1.4.1.1': { kind: 'ecdsa-plain', hash: 'sha1' },
  '0.4.0.127.0.7.1.1.4.1.2': { kind: 'ecdsa-plain', hash: 'sha224' },
  '0.4.0.127.0.7.1.1.4.1.3': { kind: 'ecdsa-plain', hash: 'sha256' },
  '0.4.0.127.0.7.1.1.4.1.4': { kind: 'ecdsa-plain', hash: 'sha384' },
  '0.4.0.127.0.7.1.1.4.1.5': { kind: 'ecdsa-plain', hash: 'sha512' },
};


const notPossible = (reason: string): CheckResult => ({ outcome: 'not-possible', reason });
const failed = (reason: string): CheckResult => ({ outcome: 'failed', reason });

export function digest(hash: HashName, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}

/**
 * The card's or certificate's bytes did not decode: our structure errors, or OpenSSL refusing a key. Anything else
 * thrown while reading them is a bug, which must not turn into a check outcome.
 */
const isUnreadable = (err: unknown): err is Error => isKioskError(err, 'LDS_MALFORMED') || isKioskError(err, 'TLV_MALFORMED') || isOpenSslError(err);

/** Verifies `signature` over `data`; 'not-possible' for schemes, parameters or keys we cannot check. */
export function verifySignature(input: SignatureInput): CheckResult {
  let scheme: Scheme | string;
  let key: KeyObject | string;
  try {
    scheme = signatureScheme(input.algorithm, input.digestAlgorithm);
    key = publicKey(input.spki);
  } catch (err) {
    if (!isUnreadable(err)) throw err;
    return notPossible(`unreadable algorithm or key: ${err.message}`);
  }
  if (typeof scheme === 'string') return notPossible(scheme);
  if (typeof key === 'string') return notPossible(key);
  const keyType = key.asymmetricKeyType;
  const wantsRsa = scheme.kind === 'rsa-pkcs1' || scheme.kind === 'rsa-pss';
  if (wantsRsa ? keyType !== 'rsa' && keyType !== 'rsa-pss' : keyType !== 'ec') return failed(`a ${keyType ?? 'unknown'} key cannot make a ${scheme.kind} signature`);
  const options =
    scheme.kind === 'rsa-pss'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }
      : scheme.kind === 'rsa-pkcs1'
        ? { key, padding: constants.RSA_PKCS1_PADDING }
        : { key, dsaEncoding: scheme.kind === 'ecdsa-plain' ? ('ieee-p1363' as const) : ('der' as const) };
  const name = `${scheme.kind} with ${scheme.hash}`;
  try {
    return verify(scheme.hash, input.data, options, input.signature) ? { outcome: 'passed', reason: `${name} signature verified` } : failed(`${name} signature does not verify`);
  } catch (err) {
    // OpenSSL throws on some signatures and keys it cannot use together (an RSA-PSS-only key asked for PKCS#1 v1.5):
    // that is a bad signature. node:crypto's argument errors are ours and go to the caller.
    if (!isOpenSslError(err)) throw err;
    return failed(`${name} signature rejected: ${err.message}`);
  }
}

function signatureScheme(algorithm: Uint8Array, digestAlgorithm: string | undefined): Scheme | string {
  const tlv = single(algorithm, ASN1_TAG.SEQUENCE, 'AlgorithmIdentifier');
  const oid = algorithmOid(tlv);
  const known = SCHEMES[oid];
  if (known) return known;
  if (oid === RSA_ENCRYPTION || oid === EC_PUBLIC_KEY) {
    const hash = digestAlgorithm === undefined ? undefined : HASH_BY_OID[digestAlgorithm];
    if (!hash) return `signature algorithm ${oid} names no hash and no digest algorithm was given`;
    return { kind: oid === RSA_ENCRYPTION ? 'rsa-pkcs1' : 'ecdsa-der', hash };
  }
  if (oid === RSASSA_PSS) return pssScheme(expectTag(children(tlv)[1], ASN1_TAG.SEQUENCE, 'RSASSA-PSS-params').value);
  return `signature algorithm ${oid} is not supported`;
}

const MAX_PSS_SALT_LENGTH = 2048;

/** RSASSA-PSS-params (RFC 4055 §3.1); the SHA-1 defaults apply to absent fields. */
function pssScheme(params: Uint8Array): Scheme | string {
  let hashOid = '1.3.14.3.2.26';
  let mgfHashOid = '1.3.14.3.2.26';
  let saltLength = 20;
  for (const field of decodeTlvList(params)) {
    const inner = decodeTlv(field.value);
    if (field.tag === ASN1_TAG.CONTEXT_0) hashOid = algorithmOid(inner);
    else if (field.tag === ASN1_TAG.CONTEXT_1) {
      if (algorithmOid(inner) !== MGF1) return 'RSA-PSS mask generation other than MGF1';
      mgfHashOid = algorithmOid(expectTag(children(inner)[1], ASN1_TAG.SEQUENCE, 'MGF1 hash'));
    } else if (field.tag === ASN1_TAG.CONTEXT_2) {
      const salt = decodeInteger(inner.value);
      // node:crypto throws a TypeError for a salt length beyond int32 and OpenSSL reads -1 and -2 as "digest length" and
      // "any": the SOD's number is checked here so that neither happens. No RSA key of 16,384 bits has room for more.
      if (salt < 0n || salt > BigInt(MAX_PSS_SALT_LENGTH)) return `RSA-PSS salt length ${salt} is outside 0..${MAX_PSS_SALT_LENGTH}`;
      saltLength = Number(salt);
    } else if (field.tag === ASN1_TAG.CONTEXT_3 && decodeInteger(inner.value) !== 1n) return 'RSA-PSS trailer field other than 1';
  }
  const hash = HASH_BY_OID[hashOid];
  if (!hash) return `RSA-PSS hash ${hashOid} is not supported`;
  // OpenSSL through node:crypto uses the message hash for MGF1 as well.
  if (mgfHashOid !== hashOid) return `RSA-PSS with MGF1 hash ${mgfHashOid} differing from hash ${hashOid} is not supported`;
  return { kind: 'rsa-pss', hash, saltLength };
}

/** A KeyObject for the SPKI, or why there is none; explicit EC parameters are swapped for the curve's name. */
function publicKey(spki: Uint8Array): KeyObject | string {
  const [algorithm, subjectPublicKey] = children(single(spki, ASN1_TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  const algorithmFields = children(expectTag(algorithm, ASN1_TAG.SEQUENCE, 'SubjectPublicKeyInfo.algorithm'));
  const parameters = algorithmFields[1];
  let der = spki;
  if (decodeOid(expectTag(algorithmFields[0], ASN1_TAG.OID, 'key algorithm').value, malformed) === EC_PUBLIC_KEY && parameters?.tag === ASN1_TAG.SEQUENCE) {
    const curveOid = namedCurveOf(parameters.value);
    if (!curveOid) return 'explicit EC domain parameters that match no known named curve';
    const key = expectTag(subjectPublicKey, ASN1_TAG.BIT_STRING, 'subjectPublicKey');
    der = encodeTlv(0x30, encodeTlv(0x30, encodeOidTlv(EC_PUBLIC_KEY), encodeOidTlv(curveOid)), encodeTlv(0x03, key.value));
  }
  return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
}

/** SpecifiedECDomain (SEC 1 §C.2) compared field by field with the curves ICAO standardizes. */
function namedCurveOf(specifiedDomain: Uint8Array): string | undefined {
  const [, fieldId, curve, base, order] = decodeTlvList(specifiedDomain);
  const [fieldType, prime] = children(expectTag(fieldId, ASN1_TAG.SEQUENCE, 'fieldID'));
  if (decodeOid(expectTag(fieldType, ASN1_TAG.OID, 'fieldType').value, malformed) !== PRIME_FIELD) return undefined;
  const [a, b] = children(expectTag(curve, ASN1_TAG.SEQUENCE, 'curve'));
  const p = decodeInteger(expectTag(prime, ASN1_TAG.INTEGER, 'prime').value);
  const n = decodeInteger(expectTag(order, ASN1_TAG.INTEGER, 'order').value);
  const aValue = unsigned(expectTag(a, ASN1_TAG.OCTET_STRING, 'curve.a').value);
  const bValue = unsigned(expectTag(b, ASN1_TAG.OCTET_STRING, 'curve.b').value);
  const g = expectTag(base, ASN1_TAG.OCTET_STRING, 'base').value;
  for (const [parameterId, oid] of CURVE_OID_BY_PARAMETER_ID) {
    const domain = ecDomainById(parameterId);
    if (!domain) continue;
    const c = domain.Point.CURVE();
    const generator = domain.Point.BASE.toBytes(false);
    if (c.p === p && c.n === n && c.a === aValue && c.b === bValue && bytesEqual(g, generator)) return oid;
  }
  return undefined;
}

function unsigned(bytes: Uint8Array): bigint {
  return bytes.reduce((v, byte) => (v << 8n) | BigInt(byte), 0n);
}

function encodeOidTlv(oid: string): Uint8Array {
  return encodeTlv(ASN1_TAG.OID, encodeOid(oid));
}

/**
 * The CMS signer check of RFC 5652 §5.4/§5.6 done step by step: signed attributes present, content-type attribute
 * equal to eContentType, message-digest attribute equal to the hash of eContent, signature over the attributes.
 */
export function verifySignerInfo(signed: CmsSignedData, signerSpki: Uint8Array): CheckResult {
  const { signerInfo } = signed;
  const hash = HASH_BY_OID[signerInfo.digestAlgorithm];
  if (!hash) return notPossible(`digest algorithm ${signerInfo.digestAlgorithm} is not supported`);
  if (!signerInfo.signedAttributes) return failed('SignerInfo carries no signed attributes (ICAO 9303-10 requires them)');
  const contentTypes = signerInfo.attributes.get(ID_CONTENT_TYPE) ?? [];
  const messageDigests = signerInfo.attributes.get(ID_MESSAGE_DIGEST) ?? [];
  if (contentTypes.length !== 1 || messageDigests.length !== 1) return failed('signed attributes need exactly one content-type and one message-digest value');
  const contentType = asMalformed('content-type attribute', () => decodeOid(single(contentTypes[0] as Uint8Array, ASN1_TAG.OID, 'content-type').value, malformed));
  if (contentType !== signed.eContentType) return failed(`content-type attribute ${contentType} differs from eContentType ${signed.eContentType}`);
  const messageDigest = asMalformed('message-digest attribute', () => single(messageDigests[0] as Uint8Array, ASN1_TAG.OCTET_STRING, 'message-digest').value);
  if (!bytesEqual(messageDigest, digest(hash, signed.eContent))) return failed(`message-digest attribute differs from the ${hash} of the signed content`);
  const signature = verifySignature({
    spki: signerSpki,
    algorithm: signerInfo.signatureAlgorithm,
    data: signerInfo.signedAttributes,
    signature: signerInfo.signature,
    digestAlgorithm: signerInfo.digestAlgorithm,
  });
  return signature.outcome === 'passed' ? { outcome: 'passed', reason: `content type and ${hash} message digest match; ${signature.reason}` } : signature;
}
