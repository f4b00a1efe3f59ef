import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { decodeResponse, encodeCommand, type CommandApdu } from '../../smartcard/apdu.js';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { bytesEqual, concatBytes } from '../../encoding/bytes.js';
import { ASN1_TAG, encodeOid } from '../../encoding/der.js';
import { aesCbcDecrypt, aesCbcEncrypt, aesCmac8 } from '../crypto/aes.js';
import { decodePoint, ecDomainById, encodePoint, randomScalar, scalarFromBytes, xCoordinate, type EcDomain, type EcPoint } from '../crypto/curves.js';
import { retailMac, tdesCbcDecrypt, tdesCbcEncrypt } from '../crypto/des.js';
import { deriveKey, KDF_ENC, KDF_MAC, KDF_PACE, type KeyAlgorithm } from '../crypto/kdf.js';
import type { PaceInfo } from '../security-infos-types.js';
import { SecureMessaging } from '../sm/secure-messaging.js';
import { decodeTlvList, encodeTlv, findTlv } from '../../encoding/tlv.js';
import { chipReply, type ChipAccessResult, type ChipProtocol } from '../chip-side.js';
import { CLA_CHAINING, dynamicAuthenticationObjects, generalAuthenticate, INS_GENERAL_AUTHENTICATE, INS_MANAGE_SECURITY_ENVIRONMENT, isMseSet, MSE_AUTHENTICATION_TEMPLATE, MSE_SET_MUTUAL, mseSetAt, TAG_DYNAMIC_AUTH_DATA } from '../iso7816/security-commands.js';
import { accessKeyRejected, CardStatusError, isAccessKeyRejected } from '../iso7816/status.js';

/**
 * PACE v2 with ECDH Generic Mapping (ICAO 9303-11 §4.4): MSE:Set AT, then four chained GENERAL AUTHENTICATE
 * steps (encrypted nonce, mapping, key agreement on the mapped generator, mutual authentication tokens), ending
 * in an SM session with SSC 0. Ciphers 3DES and AES-128/192/256; curves by standardized parameter id.
 */
const ID_PACE_ECDH_GM = '0.4.0.127.0.7.2.2.4.2';
const CIPHER_BY_OID_SUFFIX: Record<string, KeyAlgorithm> = { '1': '3DES', '2': 'AES-128', '3': 'AES-192', '4': 'AES-256' };
const BLOCK_SIZE: Record<KeyAlgorithm, number> = { '3DES': 8, 'AES-128': 16, 'AES-192': 16, 'AES-256': 16 };
const NONCE_LENGTH = 16;

const TAG_PUBLIC_KEY = 0x7f49;
const TAG_EC_POINT = 0x86;
/** Data objects inside 7C, per step: what the terminal sends and what the chip answers. */
const STEP_TAGS = [
  { command: undefined, response: 0x80 },
  { command: 0x81, response: 0x82 },
  { command: 0x83, response: 0x84 },
  { command: 0x85, response: 0x86 },
] as const;

export type PacePassword = { kind: 'mrz'; mrzInformation: string } | { kind: 'can'; can: string };

/** Key references of MSE:Set AT tag 83 (ICAO 9303-11 §4.4.4.1). */
export const PACE_KEY_REFERENCE = { mrz: 1, can: 2 } as const;

/** What a PaceInfo resolves to: the cipher, the curve and the OID in its encodings. */
interface PaceSuite {
  algorithm: KeyAlgorithm;
  domain: EcDomain;
  /** 06 L <OID>, as in the public key data object. */
  oidTlv: Uint8Array;
  /** The OID content bytes, as in MSE:Set AT tag 80. */
  oidValue: Uint8Array;
}

function unsupported(message: string): KioskError {
  return new KioskError('CARD_UNSUPPORTED', `PACE: ${message}`);
}

function paceFailed(message: string): KioskError {
  return new KioskError('CARD_SM_FAILED', `PACE: ${message}`);
}

function resolveSuite(paceInfo: PaceInfo): PaceSuite {
  const { protocol, version, parameterId } = paceInfo;
  const algorithm = protocol.startsWith(`${ID_PACE_ECDH_GM}.`) ? CIPHER_BY_OID_SUFFIX[protocol.slice(ID_PACE_ECDH_GM.length + 1)] : undefined;
  if (!algorithm) throw unsupported(`protocol ${protocol} is not ECDH generic mapping with 3DES or AES`);
  if (version !== 2) throw unsupported(`PACEInfo version ${version}, only version 2 is defined`);
  if (parameterId === undefined) throw unsupported('explicit domain parameters (no parameterId) are not supported');
  const domain = ecDomainById(parameterId);
  if (!domain) throw unsupported(`domain parameter id ${parameterId} is not an elliptic curve we support`);
  const oidValue = encodeOid(protocol);
  return { algorithm, domain, oidTlv: encodeTlv(ASN1_TAG.OID, oidValue), oidValue };
}

/** The password key K: SHA-1 of MRZ_information (all 20 bytes, unlike BAC), or the CAN digits as ASCII. */
export function pacePasswordKey(password: PacePassword): Uint8Array {
  if (password.kind === 'can') {
    if (!/^[0-9]{6}$/.test(password.can)) throw new RangeError('a CAN has 6 digits');
    return new TextEncoder().encode(password.can);
  }
  if (!/^[0-9A-Z<]+$/.test(password.mrzInformation)) throw new RangeError('MRZ_information must be MRZ characters (0-9, A-Z, <)');
  return new Uint8Array(createHash('sha1').update(password.mrzInformation, 'ascii').digest());
}

/** The nonce is encrypted with K_pi in CBC mode with IV 0 (ICAO 9303-11 §4.4.3.3). */
function nonceCipher(algorithm: KeyAlgorithm, kPi: Uint8Array, decrypt: boolean, data: Uint8Array): Uint8Array {
  const iv = new Uint8Array(BLOCK_SIZE[algorithm]);
  if (algorithm === '3DES') return decrypt ? tdesCbcDecrypt(kPi, iv, data) : tdesCbcEncrypt(kPi, iv, data);
  return decrypt ? aesCbcDecrypt(kPi, iv, data) : aesCbcEncrypt(kPi, iv, data);
}

/**
 * Authentication token over the other party's ephemeral public key, as the data object 7F49 { 06 OID, 86 point }:
 * 8-byte AES-CMAC of it, or the retail MAC (which pads) for 3DES.
 */
function authToken(suite: PaceSuite, kMac: Uint8Array, point: EcPoint): Uint8Array {
  const publicKey = encodeTlv(TAG_PUBLIC_KEY, suite.oidTlv, encodeTlv(TAG_EC_POINT, encodePoint(point)));
  return suite.algorithm === '3DES' ? retailMac(kMac, publicKey) : aesCmac8(kMac, publicKey);
}

/** Generic mapping: G~ = s * G + H, H being the ECDH point of the mapping keys. */
function mapGenerator(domain: EcDomain, nonce: Uint8Array, h: EcPoint): EcPoint | undefined {
  const s = bytesToNumberBE(nonce) % domain.order;
  if (s === 0n) return undefined;
  const mapped = domain.Point.BASE.multiply(s).add(h);
  return mapped.is0() ? undefined : mapped;
}

/** K_enc and K_mac from the shared secret K, the x coordinate of the agreed point. */
function sessionKeys(suite: PaceSuite, shared: EcPoint): { kEnc: Uint8Array; kMac: Uint8Array } {
  const k = xCoordinate(suite.domain, shared);
  return { kEnc: deriveKey(k, suite.algorithm, KDF_ENC), kMac: deriveKey(k, suite.algorithm, KDF_MAC) };
}

function privateScalar(domain: EcDomain, injected: Uint8Array | undefined): bigint {
  return injected ? scalarFromBytes(domain, injected) : randomScalar(domain);
}

export interface PaceOptions {
  /** Terminal's ephemeral mapping private key SK.Map.IFD (known-answer tests); random otherwise. */
  mapPrivateKey?: Uint8Array;
  /** Terminal's ephemeral key-agreement private key SK.DH.IFD; random otherwise. */
  agreementPrivateKey?: Uint8Array;
  /**
   * Send tag 84 (parameterId) in MSE:Set AT. ICAO makes it conditional, but CCCD and other chips answer 6A87
   * without it, so it is on by default; the Appendix G transcript omits it.
   */
  sendParameterId?: boolean;
}

export interface PaceParameters {
  paceInfo: PaceInfo;
  password: PacePassword;
}

/** Sends one GENERAL AUTHENTICATE step (0-based) and returns the data object the chip answers with. */
async function authenticationStep(transceiver: ApduTransceiver, step: 0 | 1 | 2 | 3, payload: Uint8Array): Promise<Uint8Array> {
  const tags = STEP_TAGS[step];
  const inner = tags.command === undefined ? new Uint8Array(0) : encodeTlv(tags.command, payload);
  // The last step ends the chain.
  const command = encodeCommand(generalAuthenticate(inner, step !== 3));
  const { data, sw } = decodeResponse(await transceiver.transmit(command));
  const operation = `PACE GENERAL AUTHENTICATE step ${step + 1}`;
  if (step === 3 && isAccessKeyRejected(sw)) throw accessKeyRejected(operation, sw);
  if (sw !== 0x9000) throw new CardStatusError(operation, sw);
  const objects = dynamicAuthenticationObjects(data);
  const answer = objects ? findTlv(objects, tags.response) : undefined;
  if (!answer) throw paceFailed(`${operation}: answer is not 7C { ${tags.response.toString(16).toUpperCase()} .. }`);
  return answer.value;
}

/** Terminal side of PACE: the SM session established with the chip. */
export async function performPace(transceiver: ApduTransceiver, parameters: PaceParameters, options: PaceOptions = {}): Promise<SecureMessaging> {
  const { paceInfo, password } = parameters;
  const suite = resolveSuite(paceInfo);
  const { domain } = suite;
  const kPi = deriveKey(pacePasswordKey(password), suite.algorithm, KDF_PACE);

  const mse = concatBytes(
    encodeTlv(0x80, suite.oidValue),
    encodeTlv(0x83, Uint8Array.of(PACE_KEY_REFERENCE[password.kind])),
    options.sendParameterId === false ? new Uint8Array(0) : encodeTlv(0x84, Uint8Array.of(domain.parameterId)),
  );
  const mseAnswer = decodeResponse(await transceiver.transmit(encodeCommand(mseSetAt(MSE_SET_MUTUAL, mse))));
  if (mseAnswer.sw !== 0x9000) throw new CardStatusError('PACE MSE:Set AT', mseAnswer.sw);

  const z = await authenticationStep(transceiver, 0, new Uint8Array(0));
  if (z.length === 0 || z.length % BLOCK_SIZE[suite.algorithm] !== 0) throw paceFailed(`encrypted nonce of ${z.length} bytes`);
  const nonce = nonceCipher(suite.algorithm, kPi, true, z);

  const skMap = privateScalar(domain, options.mapPrivateKey);
  const pkMap = domain.Point.BASE.multiply(skMap);
  const pkMapIc = decodePoint(domain, await authenticationStep(transceiver, 1, encodePoint(pkMap)));
  if (!pkMapIc || pkMapIc.equals(pkMap)) throw paceFailed('the chip mapping key is not a valid point of its own');
  const generator = mapGenerator(domain, nonce, pkMapIc.multiply(skMap));
  if (!generator) throw paceFailed('the mapped generator is the point at infinity');

  const skDh = privateScalar(domain, options.agreementPrivateKey);
  const pkDh = generator.multiply(skDh);
  const pkDhIc = decodePoint(domain, await authenticationStep(transceiver, 2, encodePoint(pkDh)));
  if (!pkDhIc || pkDhIc.equals(pkDh)) throw paceFailed('the chip key-agreement key is not a valid point of its own');
  const keys = sessionKeys(suite, pkDhIc.multiply(skDh));

  const tokenIc = await authenticationStep(transceiver, 3, authToken(suite, keys.kMac, pkDhIc));
  const expected = authToken(suite, keys.kMac, pkDh);
  if (tokenIc.length !== expected.length || !timingSafeEqual(tokenIc, expected)) throw paceFailed('the chip authentication token does not verify');
  return SecureMessaging.fromKeys(suite.algorithm, keys.kEnc, keys.kMac, new Uint8Array(BLOCK_SIZE[suite.algorithm]));
}

export interface PaceChipSecrets {
  paceInfo: PaceInfo;
  /** The chip's CAN, when it accepts key reference 02. */
  can?: string;
  /** The chip's MRZ_information, when it accepts key reference 01. */
  mrzInformation?: string;
}

export interface PaceChipOptions {
  /** Plain nonce s (16 bytes) instead of a random one (known-answer tests). */
  nonce?: Uint8Array;
  mapPrivateKey?: Uint8Array;
  agreementPrivateKey?: Uint8Array;
}

type ChipState =
  | { step: 0; kPi: Uint8Array }
  | { step: 1; nonce: Uint8Array }
  | { step: 2; generator: EcPoint }
  | { step: 3; pkDhIfd: EcPoint; pkDh: EcPoint; kEnc: Uint8Array; kMac: Uint8Array };

/**
 * Chip side of PACE for a virtual card: answers MSE:Set AT and the four GENERAL AUTHENTICATE steps from its CAN /
 * MRZ_information and PaceInfo. Any error resets the protocol; a wrong terminal token answers 6300 and gives no
 * session.
 */
export class PaceChip implements ChipProtocol {
  private readonly suite: PaceSuite;
  private state: ChipState | undefined;

  constructor(
    private readonly secrets: PaceChipSecrets,
    private readonly options: PaceChipOptions = {},
  ) {
    this.suite = resolveSuite(secrets.paceInfo);
  }

  /** True for the commands this class answers (MSE:Set AT for authentication, GENERAL AUTHENTICATE). */
  handles(command: CommandApdu): boolean {
    return (command.cla & ~CLA_CHAINING) === 0 && (isMseSet(command, MSE_SET_MUTUAL, MSE_AUTHENTICATION_TEMPLATE) || command.ins === INS_GENERAL_AUTHENTICATE);
  }

  process(command: CommandApdu): ChipAccessResult {
    const state = this.state;
    this.state = undefined;
    try {
      if (command.ins === INS_MANAGE_SECURITY_ENVIRONMENT) return this.setAuthenticationTemplate(command);
      if (command.ins !== INS_GENERAL_AUTHENTICATE || !state) return chipReply(0x6985);
      const expectedCla = state.step === 3 ? 0 : CLA_CHAINING;
      if (command.cla !== expectedCla || command.p1 !== 0 || command.p2 !== 0) return chipReply(0x6985);
      const objects = dynamicAuthenticationObjects(command.data ?? new Uint8Array(0));
      if (!objects) return chipReply(0x6a80);
      const tag = STEP_TAGS[state.step].command;
      const input = tag === undefined ? new Uint8Array(0) : findTlv(objects, tag)?.value;
      if (!input || objects.length !== (tag === undefined ? 0 : 1)) return chipReply(0x6a80);
      return this.step(state, input);
    } catch (err) {
      if (err instanceof KioskError && err.code === 'TLV_MALFORMED') return chipReply(0x6a80);
      throw err;
    }
  }

  private setAuthenticationTemplate(command: CommandApdu): ChipAccessResult {
    if (command.cla !== 0 || !isMseSet(command, MSE_SET_MUTUAL, MSE_AUTHENTICATION_TEMPLATE)) return chipReply(0x6a86);
    if (!command.data) return chipReply(0x6a80);
    const objects = decodeTlvList(command.data);
    const value = (tag: number): Uint8Array | undefined => findTlv(objects, tag)?.value;
    const oid = value(0x80);
    const keyReference = value(0x83);
    const parameterId = value(0x84);
    if (!oid || !bytesEqual(oid, this.suite.oidValue) || keyReference?.length !== 1) return chipReply(0x6a80);
    if (parameterId && !bytesEqual(parameterId, Uint8Array.of(this.suite.domain.parameterId))) return chipReply(0x6a80);
    const password = this.passwordFor(keyReference[0] as number);
    if (!password) return chipReply(0x6a88);
    this.state = { step: 0, kPi: deriveKey(pacePasswordKey(password), this.suite.algorithm, KDF_PACE) };
    return chipReply(0x9000);
  }

  private passwordFor(keyReference: number): PacePassword | undefined {
    const { can, mrzInformation } = this.secrets;
    if (keyReference === PACE_KEY_REFERENCE.can && can !== undefined) return { kind: 'can', can };
    if (keyReference === PACE_KEY_REFERENCE.mrz && mrzInformation !== undefined) return { kind: 'mrz', mrzInformation };
    return undefined;
  }

  private step(state: ChipState, input: Uint8Array): ChipAccessResult {
    const { suite } = this;
    const { domain } = suite;
    const answer = (tag: number, value: Uint8Array): ChipAccessResult => chipReply(0x9000, encodeTlv(TAG_DYNAMIC_AUTH_DATA, encodeTlv(tag, value)));
    switch (state.step) {
      case 0: {
        const nonce = this.options.nonce ?? new Uint8Array(randomBytes(NONCE_LENGTH));
        this.state = { step: 1, nonce };
        return answer(0x80, nonceCipher(suite.algorithm, state.kPi, false, nonce));
      }
      case 1: {
        const pkMapIfd = decodePoint(domain, input);
        const skMap = privateScalar(domain, this.options.mapPrivateKey);
        const pkMap = domain.Point.BASE.multiply(skMap);
        if (!pkMapIfd || pkMapIfd.equals(pkMap)) return chipReply(0x6a80);
        const generator = mapGenerator(domain, state.nonce, pkMapIfd.multiply(skMap));
        if (!generator) return chipReply(0x6a80);
        this.state = { step: 2, generator };
        return answer(0x82, encodePoint(pkMap));
      }
      case 2: {
        const pkDhIfd = decodePoint(domain, input);
        const skDh = privateScalar(domain, this.options.agreementPrivateKey);
        const pkDh = state.generator.multiply(skDh);
        if (!pkDhIfd || pkDhIfd.equals(pkDh)) return chipReply(0x6a80);
        this.state = { step: 3, pkDhIfd, pkDh, ...sessionKeys(suite, pkDhIfd.multiply(skDh)) };
        return answer(0x84, encodePoint(pkDh));
      }
      case 3: {
        const expected = authToken(suite, state.kMac, state.pkDh);
        if (input.length !== expected.length || !timingSafeEqual(input, expected)) return chipReply(0x6300);
        const result = answer(0x86, authToken(suite, state.kMac, state.pkDhIfd));
        return { ...result, session: SecureMessaging.fromKeys(suite.algorithm, state.kEnc, state.kMac, new Uint8Array(BLOCK_SIZE[suite.algorithm])) };
      }
    }
  }
}
