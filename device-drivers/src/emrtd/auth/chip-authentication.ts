import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { isKioskError, KioskError } from '@kiosk/common';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import * as asn1js from 'asn1js';
import { decodeResponse, encodeCommand, type CommandApdu } from '../../smartcard/apdu.js';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { bytesEqual, concatBytes, toHex } from '../../encoding/bytes.js';
import { decodeOid, encodeOid } from '../../encoding/der.js';
import { chipReply, type ChipAccessResult, type ChipProtocol } from '../chip-side.js';
import { CURVE_OID_BY_PARAMETER_ID, decodePoint, ecDomainById, encodePoint, randomScalar, scalarFromBytes, xCoordinate, type EcDomain, type EcPoint } from '../crypto/curves.js';
import { deriveKey, KDF_ENC, KDF_MAC, type KeyAlgorithm } from '../crypto/kdf.js';
import { selectFileCommand } from '../iso7816/file-commands.js';
import { dynamicAuthenticationObjects, generalAuthenticate, INS_GENERAL_AUTHENTICATE, INS_MANAGE_SECURITY_ENVIRONMENT, isMseSet, MSE_AUTHENTICATION_TEMPLATE, MSE_KEY_AGREEMENT_TEMPLATE, MSE_SET_COMPUTATION, mseSetAt, mseSetKat, TAG_DYNAMIC_AUTH_DATA } from '../iso7816/security-commands.js';
import { describeSw, expectSuccess } from '../iso7816/status.js';
import type { ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo } from '../security-infos-types.js';
import { SecureMessaging, SecureMessagingTransceiver } from '../sm/secure-messaging.js';
import { decodeTlv, decodeTlvList, encodeTlv, findTlv } from '../../encoding/tlv.js';

/**
 * Chip Authentication version 1 with ECDH (ICAO 9303-11 §6.2): the terminal agrees a key with the chip's static
 * key from DG14 using an ephemeral key pair, and both sides restart secure messaging under keys derived from the
 * shared secret. Only a chip holding the static private key can answer under the new keys, which is the proof.
 * 3DES uses MSE:Set KAT, AES uses MSE:Set AT + GENERAL AUTHENTICATE; both run inside the existing SM session.
 */
const ID_CA_DH = '0.4.0.127.0.7.2.2.3.1';
const ID_CA_ECDH = '0.4.0.127.0.7.2.2.3.2';
/** ICAO 9303-11: a DG14 without ChipAuthenticationInfo (older chips) implies id-CA-ECDH-3DES-CBC-CBC for an ECDH key. */
const ID_CA_ECDH_3DES = `${ID_CA_ECDH}.1`;
const ID_PK_ECDH = '0.4.0.127.0.7.2.2.1.2';
const CIPHER_BY_OID_SUFFIX: ReadonlyMap<string, KeyAlgorithm> = new Map([
  ['1', '3DES'],
  ['2', 'AES-128'],
  ['3', 'AES-192'],
  ['4', 'AES-256'],
]);

const TAG_MECHANISM = 0x80;
const TAG_KEY_REFERENCE = 0x84;
const TAG_EPHEMERAL_KEY_KAT = 0x91;
const TAG_EPHEMERAL_KEY_GA = 0x80;
/** EF.DG14, which the terminal has just read to get the CA key: it exists on every chip that offers CA. */
const DG14_FILE_ID = 0x010e;
const NONE = new Uint8Array(0);

const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const ID_PRIME_FIELD = '1.2.840.10045.1.1';

function unsupported(message: string): KioskError {
  return new KioskError('CARD_UNSUPPORTED', message);
}

// ---- EC public keys of DG14 and DG15 ----

/** An elliptic-curve public key: the curve and the point. */
export interface EcPublicKey {
  domain: EcDomain;
  point: EcPoint;
}

function malformedKey(what: string, message: string): KioskError {
  return new KioskError('LDS_MALFORMED', `${what}: ${message}`);
}

function asn1Children(node: unknown, what: string, field: string): unknown[] {
  if (!(node instanceof asn1js.Sequence)) throw malformedKey(what, `${field} is not a SEQUENCE`);
  return node.valueBlock.value;
}

/** Through the strict kernel decoder: asn1js reads non-minimal arcs (2A 80 01 as 1.2.1), a key from the chip may not. */
function asn1Oid(node: unknown, what: string, field: string): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) throw malformedKey(what, `${field} is not an OBJECT IDENTIFIER`);
  return decodeOid(decodeTlv(node.valueBeforeDecodeView).value, (message) => malformedKey(what, `${field}: ${message}`));
}

function asn1Integer(node: unknown, what: string, field: string): bigint {
  if (!(node instanceof asn1js.Integer)) throw malformedKey(what, `${field} is not an INTEGER`);
  return node.toBigInt();
}

function asn1Octets(node: unknown, what: string, field: string): Uint8Array {
  if (!(node instanceof asn1js.OctetString)) throw malformedKey(what, `${field} is not an OCTET STRING`);
  return node.valueBlock.valueHexView;
}

function supportedDomains(): EcDomain[] {
  return [...CURVE_OID_BY_PARAMETER_ID.keys()].flatMap((id) => ecDomainById(id) ?? []);
}

function namedDomain(oid: string, what: string): EcDomain {
  const id = [...CURVE_OID_BY_PARAMETER_ID].find(([, curveOid]) => curveOid === oid)?.[0];
  const domain = id === undefined ? undefined : ecDomainById(id);
  if (!domain) throw unsupported(`${what}: curve ${oid} is not one we support`);
  return domain;
}

function isBasePoint(domain: EcDomain, encoded: Uint8Array): boolean {
  try {
    return domain.Point.fromBytes(encoded).equals(domain.Point.BASE);
  } catch {
    return false;
  }
}

/**
 * ECParameters spelled out (RFC 3279 §2.3.5), as DG14 keys usually are: matched to a curve we know by prime,
 * coefficients, generator, order and cofactor, so that no caller-chosen curve is ever computed on.
 */
function explicitDomain(parameters: unknown, what: string): EcDomain {
  // The version (1) carries nothing we use.
  const [, fieldId, curve, base, order, cofactor] = asn1Children(parameters, what, 'ECParameters');
  const [fieldType, prime] = asn1Children(fieldId, what, 'fieldID');
  if (asn1Oid(fieldType, what, 'field type') !== ID_PRIME_FIELD) throw unsupported(`${what}: only prime-field curves are supported`);
  const [a, b] = asn1Children(curve, what, 'curve');
  const wanted = {
    p: asn1Integer(prime, what, 'prime'),
    a: bytesToNumberBE(asn1Octets(a, what, 'coefficient a')),
    b: bytesToNumberBE(asn1Octets(b, what, 'coefficient b')),
    n: asn1Integer(order, what, 'order'),
    h: cofactor === undefined ? 1n : asn1Integer(cofactor, what, 'cofactor'),
  };
  const generator = asn1Octets(base, what, 'base point');
  const match = supportedDomains().find((domain) => {
    const known = domain.Point.CURVE();
    return known.p === wanted.p && known.a === wanted.a && known.b === wanted.b && known.n === wanted.n && known.h === wanted.h && isBasePoint(domain, generator);
  });
  if (!match) throw unsupported(`${what}: explicit domain parameters match no curve we support`);
  return match;
}

/**
 * asn1js.fromBER reports most structure errors in its result, but throws a plain Error for some content it
 * converts while decoding (a UTCTime or GeneralizedTime that is no date): the card's bytes, so LDS_MALFORMED.
 */
function decodeBer(bytes: Uint8Array, what: string): ReturnType<typeof asn1js.fromBER> {
  try {
    return asn1js.fromBER(bytes);
  } catch (err) {
    throw new KioskError('LDS_MALFORMED', `${what}: not DER (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/**
 * Reads an EC SubjectPublicKeyInfo (DER) with a named curve or explicit parameters. A structure that is not an
 * SPKI is LDS_MALFORMED; another key type or a curve we do not implement is CARD_UNSUPPORTED. `what` names the
 * key in messages.
 */
export function readEcPublicKey(spki: Uint8Array, what: string): EcPublicKey {
  const { offset, result } = decodeBer(spki, what);
  if (offset !== spki.length) throw malformedKey(what, 'not a single DER SubjectPublicKeyInfo');
  const [algorithm, subjectPublicKey] = asn1Children(result, what, 'SubjectPublicKeyInfo');
  const [algorithmOid, parameters] = asn1Children(algorithm, what, 'algorithm');
  const keyType = asn1Oid(algorithmOid, what, 'algorithm');
  if (keyType !== ID_EC_PUBLIC_KEY) throw unsupported(`${what}: key algorithm ${keyType} is not elliptic-curve`);
  const domain = parameters instanceof asn1js.ObjectIdentifier ? namedDomain(asn1Oid(parameters, what, 'curve'), what) : explicitDomain(parameters, what);
  if (!(subjectPublicKey instanceof asn1js.BitString) || subjectPublicKey.valueBlock.unusedBits !== 0) {
    throw malformedKey(what, 'subjectPublicKey is not a whole-byte BIT STRING');
  }
  const point = decodePoint(domain, subjectPublicKey.valueBlock.valueHexView);
  if (!point) throw malformedKey(what, `the public key is not an uncompressed point of ${domain.name}`);
  return { domain, point };
}

/** The key as a node:crypto KeyObject (SPKI with the named curve), for ECDSA verification and ECDH. */
export function ecPublicKeyObject(key: EcPublicKey): KeyObject {
  const spki = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: ID_EC_PUBLIC_KEY }), new asn1js.ObjectIdentifier({ value: CURVE_OID_BY_PARAMETER_ID.get(key.domain.parameterId) })] }),
      new asn1js.BitString({ valueHex: encodePoint(key.point) }),
    ],
  });
  return createPublicKey({ key: Buffer.from(spki.toBER()), format: 'der', type: 'spki' });
}

function publicHalf(privateKey: KeyObject, what: string): EcPublicKey {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ec') throw new RangeError(`${what} must be an EC private key`);
  return readEcPublicKey(new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })), what);
}

// ---- protocol parameters ----

interface CaSuite {
  algorithm: KeyAlgorithm;
  /** The protocol OID's content bytes, as in MSE:Set AT tag 80. */
  oidValue: Uint8Array;
}

function resolveSuite(protocol: string, version: number): CaSuite {
  const algorithm = protocol.startsWith(`${ID_CA_ECDH}.`) ? CIPHER_BY_OID_SUFFIX.get(protocol.slice(ID_CA_ECDH.length + 1)) : undefined;
  if (!algorithm) {
    const why = protocol.startsWith(`${ID_CA_DH}.`) ? 'is Diffie-Hellman; only ECDH is supported' : 'is not ECDH with 3DES or AES';
    throw unsupported(`chip authentication: protocol ${protocol} ${why}`);
  }
  if (version !== 1) throw unsupported(`chip authentication: ChipAuthenticationInfo version ${version}, ICAO defines version 1`);
  return { algorithm, oidValue: encodeOid(protocol) };
}

/** A keyId as the content of MSE tag 84: unsigned big-endian without leading zero bytes. */
function keyIdBytes(keyId: number): Uint8Array {
  if (!Number.isSafeInteger(keyId) || keyId < 0) throw new RangeError(`keyId ${keyId} is not a non-negative integer`);
  const bytes: number[] = [];
  for (let n = keyId; bytes.length === 0 || n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.from(bytes);
}

/** KS_enc and KS_mac from the shared secret (ICAO KDF counters 1 and 2), with the send sequence counter at 0. */
function sessionFromSecret(algorithm: KeyAlgorithm, secret: Uint8Array): SecureMessaging {
  const ssc = new Uint8Array(algorithm === '3DES' ? 8 : 16);
  return SecureMessaging.fromKeys(algorithm, deriveKey(secret, algorithm, KDF_ENC), deriveKey(secret, algorithm, KDF_MAC), ssc);
}

// ---- terminal ----

export interface ChipAuthenticationResult {
  outcome: 'passed' | 'failed';
  /** On 'passed': the channel under the new session keys, which replaces the old one. */
  channel?: SecureMessagingTransceiver;
  /** On 'failed': why, for logs and the operator. */
  reason?: string;
}

export interface ChipAuthenticationOptions {
  /** The terminal's ephemeral private key as big-endian bytes (known-answer tests); random otherwise. */
  ephemeralPrivateKey?: Uint8Array;
}

function failed(reason: string): ChipAuthenticationResult {
  return { outcome: 'failed', reason };
}

/** GENERAL AUTHENTICATE of CA version 1 answers empty dynamic authentication data (7C 00), or nothing at all. */
function isEmptyDynamicData(data: Uint8Array): boolean {
  return data.length === 0 || bytesEqual(data, Uint8Array.of(TAG_DYNAMIC_AUTH_DATA, 0));
}

/**
 * Sends one protected command under the new keys and checks the answer's MAC. SELECT of EF.DG14 with P2 0C is
 * harmless: it returns no data, reads nothing personal, and the file exists because CA needs it; the status the
 * answer carries does not matter, only that it is protected with the new keys. Returns why it failed, if it did.
 */
async function proveSessionKeys(card: ApduTransceiver, session: SecureMessaging): Promise<string | undefined> {
  const answer = await card.transmit(session.wrapCommand(selectFileCommand(DG14_FILE_ID)));
  // A chip that could not verify our MAC (it derived other keys) answers a bare 6987/6988.
  if (answer.length === 2) return `the chip answered SELECT under the new keys with ${describeSw(decodeResponse(answer).sw)}, without secure messaging`;
  try {
    session.unwrapResponse(answer);
    return undefined;
  } catch (err) {
    if (isKioskError(err, 'CARD_SM_FAILED')) return `the chip's answer under the new keys does not verify (${err.message})`;
    throw err;
  }
}

/**
 * Terminal side of Chip Authentication. `channel` is the current SM session (after PACE or BAC) and `card` the raw
 * link beneath it; `info` is DG14's ChipAuthenticationInfo, absent on older chips (3DES is assumed then). A chip
 * that cannot prove the static key gives 'failed', never an exception; unsupported parameters throw
 * CARD_UNSUPPORTED, malformed keys or DG14 records LDS_MALFORMED, refusals CARD_STATUS_ERROR, and a broken old
 * session CARD_SM_FAILED. Once the key agreement has been answered the chip has left the old session, so `channel` is
 * spent whatever the outcome: after 'failed', reading on needs access control again.
 */
export async function performChipAuthentication(
  card: ApduTransceiver,
  channel: SecureMessagingTransceiver,
  info: ChipAuthenticationInfo | undefined,
  publicKeyInfo: ChipAuthenticationPublicKeyInfo,
  options: ChipAuthenticationOptions = {},
): Promise<ChipAuthenticationResult> {
  const suite = resolveSuite(info?.protocol ?? ID_CA_ECDH_3DES, info?.version ?? 1);
  if (publicKeyInfo.protocol !== ID_PK_ECDH) throw unsupported(`chip authentication: public key protocol ${publicKeyInfo.protocol} is not id-PK-ECDH`);
  if (info?.keyId !== undefined && publicKeyInfo.keyId !== undefined && info.keyId !== publicKeyInfo.keyId) {
    // Both come from the card's DG14: one that pairs its protocol with another key is malformed card data.
    throw new KioskError('LDS_MALFORMED', `DG14: ChipAuthenticationInfo keyId ${info.keyId} does not name public key ${publicKeyInfo.keyId}`, { details: { file: 'DG14' } });
  }
  const keyId = publicKeyInfo.keyId ?? info?.keyId;
  const keyReference = keyId === undefined ? NONE : encodeTlv(TAG_KEY_REFERENCE, keyIdBytes(keyId));
  const chipKey = readEcPublicKey(publicKeyInfo.subjectPublicKeyInfo, 'DG14 chip authentication public key');
  const { domain } = chipKey;
  const secretScalar = options.ephemeralPrivateKey ? scalarFromBytes(domain, options.ephemeralPrivateKey) : randomScalar(domain);
  const ephemeralKey = encodePoint(domain.Point.BASE.multiply(secretScalar));

  if (suite.algorithm === '3DES') {
    const data = concatBytes(encodeTlv(TAG_EPHEMERAL_KEY_KAT, ephemeralKey), keyReference);
    expectSuccess('CA MSE:Set KAT', await channel.transmit(encodeCommand(mseSetKat(data))));
  } else {
    const template = concatBytes(encodeTlv(TAG_MECHANISM, suite.oidValue), keyReference);
    expectSuccess('CA MSE:Set AT', await channel.transmit(encodeCommand(mseSetAt(MSE_SET_COMPUTATION, template))));
    const command = generalAuthenticate(encodeTlv(TAG_EPHEMERAL_KEY_GA, ephemeralKey));
    const answer = expectSuccess('CA GENERAL AUTHENTICATE', await channel.transmit(encodeCommand(command)));
    if (!isEmptyDynamicData(answer.data)) return failed(`GENERAL AUTHENTICATE answered ${toHex(answer.data.subarray(0, 16))}.., CA version 1 expects 7C 00`);
  }

  const session = sessionFromSecret(suite.algorithm, xCoordinate(domain, chipKey.point.multiply(secretScalar)));
  const reason = await proveSessionKeys(card, session);
  return reason === undefined ? { outcome: 'passed', channel: new SecureMessagingTransceiver(card, session) } : failed(reason);
}

// ---- chip ----

export interface ChipAuthenticationChipKey {
  /** The id-CA-ECDH-* protocol the chip advertises in DG14; it names the cipher of the new session. */
  protocol: string;
  /** The static private key whose public half DG14 holds. */
  privateKey: KeyObject;
  /** DG14's keyId, when the chip names its key; MSE tag 84 must then match it, if sent. */
  keyId?: number;
}

export interface ChipAuthenticationChipOptions {
  /**
   * A cloned chip: agrees keys with this private key (same curve) instead of the genuine one. DG14 still holds the
   * genuine public key, so the terminal derives other session keys and must report 'failed'.
   */
  cloneKey?: KeyObject;
}

/**
 * Chip side of Chip Authentication for a virtual card, answering the commands once unwrapped from the current
 * SM session: MSE:Set KAT (3DES chips), or MSE:Set AT then GENERAL AUTHENTICATE. A successful key agreement
 * returns the new session in `session`. ICAO 9303-11 §6.2 has the answer to that command protected with the OLD
 * session keys, so the card must wrap `response` with its current session first and only then switch to
 * `session`; the terminal re-keys the same way after it has unwrapped that answer.
 */
export class ChipAuthenticationChip implements ChipProtocol {
  private readonly algorithm: KeyAlgorithm;
  private readonly oidValue: Uint8Array;
  private readonly domain: EcDomain;
  private readonly agreementKey: KeyObject;
  private readonly keyReference: Uint8Array | undefined;
  /** MSE:Set AT has selected CA for the next GENERAL AUTHENTICATE. */
  private templateSet = false;

  constructor(key: ChipAuthenticationChipKey, options: ChipAuthenticationChipOptions = {}) {
    const suite = resolveSuite(key.protocol, 1);
    this.algorithm = suite.algorithm;
    this.oidValue = suite.oidValue;
    this.domain = publicHalf(key.privateKey, 'chip authentication private key').domain;
    if (options.cloneKey && publicHalf(options.cloneKey, 'clone key').domain !== this.domain) throw new RangeError(`the clone key must be on ${this.domain.name}`);
    this.agreementKey = options.cloneKey ?? key.privateKey;
    this.keyReference = key.keyId === undefined ? undefined : keyIdBytes(key.keyId);
  }

  /** True for the commands this class answers: MSE:Set KAT / Set AT for computation, GENERAL AUTHENTICATE. */
  handles(command: CommandApdu): boolean {
    const mse = isMseSet(command, MSE_SET_COMPUTATION, MSE_AUTHENTICATION_TEMPLATE) || isMseSet(command, MSE_SET_COMPUTATION, MSE_KEY_AGREEMENT_TEMPLATE);
    return command.cla === 0 && (mse || command.ins === INS_GENERAL_AUTHENTICATE);
  }

  process(command: CommandApdu): ChipAccessResult {
    const templateSet = this.templateSet;
    this.templateSet = false;
    try {
      if (command.ins === INS_MANAGE_SECURITY_ENVIRONMENT && command.p2 === MSE_KEY_AGREEMENT_TEMPLATE) return this.setKeyAgreementTemplate(command);
      if (command.ins === INS_MANAGE_SECURITY_ENVIRONMENT) return this.setAuthenticationTemplate(command);
      if (command.ins !== INS_GENERAL_AUTHENTICATE) return chipReply(0x6d00);
      if (!templateSet) return chipReply(0x6985);
      if (command.p1 !== 0 || command.p2 !== 0) return chipReply(0x6a86);
      const objects = dynamicAuthenticationObjects(command.data ?? NONE);
      if (!objects) return chipReply(0x6a80);
      const ephemeralKey = objects.length === 1 ? findTlv(objects, TAG_EPHEMERAL_KEY_GA)?.value : undefined;
      if (!ephemeralKey) return chipReply(0x6a80);
      return this.agree(ephemeralKey, encodeTlv(TAG_DYNAMIC_AUTH_DATA));
    } catch (err) {
      if (isKioskError(err, 'TLV_MALFORMED')) return chipReply(0x6a80);
      throw err;
    }
  }

  private setAuthenticationTemplate(command: CommandApdu): ChipAccessResult {
    const objects = decodeTlvList(command.data ?? NONE);
    const mechanism = findTlv(objects, TAG_MECHANISM)?.value;
    if (!mechanism || !bytesEqual(mechanism, this.oidValue)) return chipReply(0x6a80);
    if (!this.acceptsKeyReference(findTlv(objects, TAG_KEY_REFERENCE)?.value)) return chipReply(0x6a88);
    this.templateSet = true;
    return chipReply(0x9000);
  }

  private setKeyAgreementTemplate(command: CommandApdu): ChipAccessResult {
    if (this.algorithm !== '3DES') return chipReply(0x6985);
    const objects = decodeTlvList(command.data ?? NONE);
    const ephemeralKey = findTlv(objects, TAG_EPHEMERAL_KEY_KAT)?.value;
    if (!ephemeralKey) return chipReply(0x6a80);
    if (!this.acceptsKeyReference(findTlv(objects, TAG_KEY_REFERENCE)?.value)) return chipReply(0x6a88);
    return this.agree(ephemeralKey, NONE);
  }

  /** No reference selects the chip's only key; a given one must name it. */
  private acceptsKeyReference(reference: Uint8Array | undefined): boolean {
    return reference === undefined || (this.keyReference !== undefined && bytesEqual(reference, this.keyReference));
  }

  private agree(ephemeralKey: Uint8Array, answer: Uint8Array): ChipAccessResult {
    const point = decodePoint(this.domain, ephemeralKey);
    if (!point) return chipReply(0x6a80);
    const secret = new Uint8Array(diffieHellman({ privateKey: this.agreementKey, publicKey: ecPublicKeyObject({ domain: this.domain, point }) }));
    return { response: { data: answer, sw: 0x9000 }, session: sessionFromSecret(this.algorithm, secret) };
  }
}
