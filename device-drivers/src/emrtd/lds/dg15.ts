import { KioskError } from '@kiosk/common';
import { ASN1_TAG, decodeOid } from '../../encoding/der.js';
import { decodeTlv, decodeTlvList, type Tlv } from '../../encoding/tlv.js';
import { dataGroupFile, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';

/**
 * DG15 (ICAO 9303-11 §6.1): 6F { SubjectPublicKeyInfo }, the Active Authentication public key. RSA keys sign per
 * ISO/IEC 9796-2, EC keys with plain ECDSA; the key type decides which, so it is resolved here.
 */
export type ActiveAuthenticationKey =
  | {
      algorithm: 'rsa';
      /** SubjectPublicKeyInfo DER. */
      spki: Uint8Array;
      /** Bit length of the modulus. */
      keyBits: number;
      /** Unsigned big-endian, no leading zero. */
      modulus: Uint8Array;
      publicExponent: Uint8Array;
    }
  | {
      algorithm: 'ec';
      spki: Uint8Array;
      /** Bit length of the field (256 for P-256 and brainpoolP256r1). */
      keyBits: number;
      /** Named-curve OID; undefined when the key carries explicit domain parameters (common on eMRTDs). */
      curve: string | undefined;
      /** ECParameters DER when explicit. */
      explicitParameters: Uint8Array | undefined;
      /** The public point as encoded (04 || X || Y, or compressed). */
      publicPoint: Uint8Array;
    };

const DG15 = dataGroupFile(15);
const FILE = DG15.name;
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const PRIME_FIELD = '1.2.840.10045.1.1';

/** Field sizes of the named curves eMRTDs use (SEC 2, RFC 5639). */
const NAMED_CURVE_BITS: ReadonlyMap<string, number> = new Map([
  ['1.2.840.10045.3.1.1', 192],
  ['1.3.132.0.33', 224],
  ['1.2.840.10045.3.1.7', 256],
  ['1.3.132.0.34', 384],
  ['1.3.132.0.35', 521],
  ['1.3.36.3.3.2.8.1.1.1', 160],
  ['1.3.36.3.3.2.8.1.1.3', 192],
  ['1.3.36.3.3.2.8.1.1.5', 224],
  ['1.3.36.3.3.2.8.1.1.7', 256],
  ['1.3.36.3.3.2.8.1.1.9', 320],
  ['1.3.36.3.3.2.8.1.1.11', 384],
  ['1.3.36.3.3.2.8.1.1.13', 512],
]);

const oidMalformed = (message: string): KioskError => ldsMalformed(FILE, message);

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv?.tag !== tag) throw ldsMalformed(FILE, `${what}: expected tag ${tag.toString(16).toUpperCase().padStart(2, '0')}`);
  return tlv;
}

/** A positive INTEGER's magnitude without leading zero bytes. */
function positiveInteger(tlv: Tlv | undefined, what: string): Uint8Array {
  const { value } = expect(tlv, ASN1_TAG.INTEGER, what);
  if (value.length === 0 || (value[0] as number) & 0x80) throw ldsMalformed(FILE, `${what} is not a positive INTEGER`);
  const start = value.findIndex((b) => b !== 0);
  if (start < 0) throw ldsMalformed(FILE, `${what} is zero`);
  return value.slice(start);
}

function bitLength(magnitude: Uint8Array): number {
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0] as number));
}

/** BIT STRING content without its unused-bits byte, which must be 0 for keys. */
function bitStringBytes(tlv: Tlv | undefined, what: string): Uint8Array {
  const { value } = expect(tlv, ASN1_TAG.BIT_STRING, what);
  if (value[0] !== 0) throw ldsMalformed(FILE, `${what} does not start with 0 unused bits`);
  return value.subarray(1);
}

function list(tlv: Tlv): Tlv[] {
  return decodeTlvList(tlv.value);
}

function unsupported(message: string): KioskError {
  return new KioskError('CARD_UNSUPPORTED', `${FILE}: ${message}`);
}

function parseRsa(spki: Uint8Array, parameters: Tlv | undefined, key: Uint8Array): ActiveAuthenticationKey {
  if (parameters !== undefined && (parameters.tag !== ASN1_TAG.NULL || parameters.value.length !== 0)) throw ldsMalformed(FILE, 'RSA algorithm parameters are not NULL');
  const sequence = decodeTlv(key, 0);
  if (sequence.end !== key.length) throw ldsMalformed(FILE, 'bytes after the RSA public key');
  const [modulusTlv, exponentTlv, ...rest] = list(expect(sequence, ASN1_TAG.SEQUENCE, 'RSA public key'));
  if (rest.length > 0) throw ldsMalformed(FILE, 'RSA public key has extra elements');
  const modulus = positiveInteger(modulusTlv, 'RSA modulus');
  return { algorithm: 'rsa', spki, keyBits: bitLength(modulus), modulus, publicExponent: positiveInteger(exponentTlv, 'RSA public exponent') };
}

/** Field bits of explicit ECParameters: SEQUENCE { version, fieldID { prime-field, p }, curve, base, order, ... }. */
function explicitFieldBits(parameters: Tlv): number {
  const [version, fieldId] = list(parameters);
  expect(version, ASN1_TAG.INTEGER, 'ECParameters version');
  const [fieldType, prime] = list(expect(fieldId, ASN1_TAG.SEQUENCE, 'ECParameters fieldID'));
  const type = decodeOid(expect(fieldType, ASN1_TAG.OID, 'ECParameters field type').value, oidMalformed);
  if (type !== PRIME_FIELD) throw unsupported(`EC field type ${type} is not a prime field`);
  return bitLength(positiveInteger(prime, 'EC field prime'));
}

function parseEc(spki: Uint8Array, parametersDer: Uint8Array | undefined, point: Uint8Array): ActiveAuthenticationKey {
  const uncompressed = point[0] === 0x04 && point.length >= 3 && point.length % 2 === 1;
  const compressed = (point[0] === 0x02 || point[0] === 0x03) && point.length >= 2;
  if (!uncompressed && !compressed) throw ldsMalformed(FILE, 'EC public point is neither uncompressed nor compressed');
  const pointBits = (uncompressed ? (point.length - 1) / 2 : point.length - 1) * 8;
  const parameters = parametersDer && decodeTlv(parametersDer, 0);
  if (parameters?.tag === ASN1_TAG.OID) {
    const curve = decodeOid(parameters.value, oidMalformed);
    return { algorithm: 'ec', spki, keyBits: NAMED_CURVE_BITS.get(curve) ?? pointBits, curve, explicitParameters: undefined, publicPoint: point.slice() };
  }
  if (parametersDer && parameters?.tag === ASN1_TAG.SEQUENCE) {
    return { algorithm: 'ec', spki, keyBits: explicitFieldBits(parameters), curve: undefined, explicitParameters: parametersDer, publicPoint: point.slice() };
  }
  throw ldsMalformed(FILE, 'EC key has neither a named curve nor explicit parameters');
}

/** Parses a SubjectPublicKeyInfo (as DG15 holds it) into an RSA or EC Active Authentication key. */
export function parseSubjectPublicKeyInfo(spkiBytes: Uint8Array): ActiveAuthenticationKey {
  const spki = spkiBytes.slice();
  const outer = decodeTlv(spki, 0);
  if (outer.end !== spki.length) throw ldsMalformed(FILE, 'bytes after the SubjectPublicKeyInfo');
  const [algorithmTlv, key, ...rest] = list(expect(outer, ASN1_TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  if (rest.length > 0) throw ldsMalformed(FILE, 'SubjectPublicKeyInfo has extra elements');
  const algorithm = expect(algorithmTlv, ASN1_TAG.SEQUENCE, 'AlgorithmIdentifier');
  const [oidTlv, parameters, ...more] = list(algorithm);
  if (more.length > 0) throw ldsMalformed(FILE, 'AlgorithmIdentifier has extra elements');
  const oid = decodeOid(expect(oidTlv, ASN1_TAG.OID, 'algorithm').value, oidMalformed);
  const keyBytes = bitStringBytes(key, 'subjectPublicKey');
  if (oid === RSA_ENCRYPTION) return parseRsa(spki, parameters, keyBytes);
  // Offsets of `parameters` refer to the AlgorithmIdentifier's content, the buffer it was decoded from.
  if (oid === EC_PUBLIC_KEY) return parseEc(spki, parameters && algorithm.value.slice(parameters.start, parameters.end), keyBytes);
  throw unsupported(`public key algorithm ${oid} is neither RSA nor EC`);
}

export function parseDg15(bytes: Uint8Array): ActiveAuthenticationKey {
  return parseSubjectPublicKeyInfo(unwrapLdsFile(bytes, DG15));
}

/** DG15 holding `spki` (validated first, so a fixture cannot build a card its reader rejects). */
export function encodeDg15(spki: Uint8Array): Uint8Array {
  parseSubjectPublicKeyInfo(spki);
  return wrapLdsFile(DG15, spki);
}
