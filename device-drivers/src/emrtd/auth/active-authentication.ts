import { constants, createHash, createPublicKey, privateEncrypt, publicDecrypt, randomBytes, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { isKioskError, KioskError } from '@kiosk/common';
import { encodeCommand, type CommandApdu } from '../../smartcard/apdu.js';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { concatBytes, toHex } from '../../encoding/bytes.js';
import { chipReply, type ChipAccessResult, type ChipProtocol } from '../chip-side.js';
import { isOpenSslError } from '../crypto/openssl-errors.js';
import { INS_INTERNAL_AUTHENTICATE, internalAuthenticate } from '../iso7816/security-commands.js';
import { expectSuccess } from '../iso7816/status.js';
import { parseSubjectPublicKeyInfo, type ActiveAuthenticationKey } from '../lds/dg15.js';
import { ecPublicKeyObject, readEcPublicKey, type EcPublicKey } from './chip-authentication.js';

/**
 * Active Authentication (ICAO 9303-11 §6.1): the chip signs an 8-byte terminal challenge with the private key
 * whose public half is in DG15. RSA keys sign with ISO/IEC 9796-2 digital signature scheme 1 (partial message
 * recovery); EC keys with plain ECDSA (r || s, BSI TR-03111) using the hash DG14's ActiveAuthenticationInfo names.
 */
const CHALLENGE_LENGTH = 8;
/** ISO/IEC 9796-2 header of a partially recoverable message whose M1 fills the representative (no padding). */
const HEADER_PARTIAL_RECOVERY = 0x6a;
/** One-byte trailer: SHA-1, implicitly. */
const TRAILER_IMPLICIT_SHA1 = 0xbc;
/** Two-byte trailer: hash identifier (ISO/IEC 10118-3) then CC. */
const TRAILER_EXPLICIT = 0xcc;

export type ActiveAuthenticationHash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

const HASHES: Record<ActiveAuthenticationHash, { name: string; length: number; trailerId: number }> = {
  sha1: { name: 'SHA-1', length: 20, trailerId: 0x33 },
  sha224: { name: 'SHA-224', length: 28, trailerId: 0x38 },
  sha256: { name: 'SHA-256', length: 32, trailerId: 0x34 },
  sha384: { name: 'SHA-384', length: 48, trailerId: 0x36 },
  sha512: { name: 'SHA-512', length: 64, trailerId: 0x35 },
};
const HASH_BY_TRAILER_ID: ReadonlyMap<number, ActiveAuthenticationHash> = new Map(
  Object.entries(HASHES).map(([hash, { trailerId }]) => [trailerId, hash as ActiveAuthenticationHash]),
);

/** ECDSA signature algorithms of ActiveAuthenticationInfo: BSI ecdsa-plain-* (ICAO) and the X9.62 ones some chips name. */
const ECDSA_HASH_BY_OID: ReadonlyMap<string, ActiveAuthenticationHash> = new Map([
  ['0.4.0.127.0.7.1.1.4.1.1', 'sha1'],
  ['0.4.0.127.0.7.1.1.4.1.2', 'sha224'],
  ['0.4.0.127.0.7.1.1.4.1.3', 'sha256'],
  ['0.4.0.127.0.7.1.1.4.1.4', 'sha384'],
  ['0.4.0.127.0.7.1.1.4.1.5', 'sha512'],
  ['1.2.840.10045.4.1', 'sha1'],
  ['1.2.840.10045.4.3.1', 'sha224'],
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
]);

/**
 * The ECDSA hash: the one ActiveAuthenticationInfo names, else (ICAO requires the info for EC keys, but not every
 * chip has it) the SHA-2 matching the key size, as BSI TR-03111 pairs them.
 */
function ecdsaHash(key: EcPublicKey, signatureAlgorithm: string | undefined): ActiveAuthenticationHash {
  if (signatureAlgorithm === undefined) {
    const bits = key.domain.order.toString(2).length;
    return bits <= 256 ? 'sha256' : bits <= 384 ? 'sha384' : 'sha512';
  }
  const hash = ECDSA_HASH_BY_OID.get(signatureAlgorithm);
  if (!hash) throw new KioskError('CARD_UNSUPPORTED', `active authentication: signature algorithm ${signatureAlgorithm} is not ECDSA with SHA-1 or SHA-2`);
  return hash;
}

export interface ActiveAuthenticationOptions {
  /** ActiveAuthenticationInfo.signatureAlgorithm from DG14, for EC keys (RSA signatures name their hash). */
  signatureAlgorithm?: string;
  /** The 8-byte challenge RND.IFD; random unless given (known-answer tests). */
  challenge?: Uint8Array;
}

export interface ActiveAuthenticationResult {
  outcome: 'passed' | 'failed';
  /** What was verified, e.g. "RSA ISO/IEC 9796-2 scheme 1 with SHA-1" or "ECDSA brainpoolP256r1 with SHA-256". */
  algorithm: string;
  /** On 'failed': why, for logs and the operator. */
  reason?: string;
}

/** ISO/IEC 9796-2 scheme 1 trailer: the hash and the trailer length, or a reason why the trailer is not one. */
function readTrailer(f: Uint8Array): { hash: ActiveAuthenticationHash; length: number } | string {
  const last = f[f.length - 1];
  if (last === TRAILER_IMPLICIT_SHA1) return { hash: 'sha1', length: 1 };
  const hash = last === TRAILER_EXPLICIT ? HASH_BY_TRAILER_ID.get(f[f.length - 2] as number) : undefined;
  if (hash) return { hash, length: 2 };
  return `trailer ${toHex(f.subarray(-2))} is neither BC nor the two-byte trailer of a SHA-1/SHA-2 hash`;
}

/** Opens the signature (s^e mod n), recovers M1 and the hash, and checks hash = H(M1 || challenge). */
function verifyIso9796(key: KeyObject, modulusBytes: number, challenge: Uint8Array, signature: Uint8Array): ActiveAuthenticationResult {
  const scheme = 'RSA ISO/IEC 9796-2 scheme 1';
  const fail = (algorithm: string, reason: string): ActiveAuthenticationResult => ({ outcome: 'failed', algorithm, reason });
  if (signature.length !== modulusBytes) return fail(scheme, `signature of ${signature.length} bytes for a ${modulusBytes}-byte modulus`);
  let f: Uint8Array;
  try {
    f = new Uint8Array(publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature));
  } catch (err) {
    // OpenSSL refuses a signature not below the modulus (or a DG15 modulus it cannot compute with): not verified.
    if (!isOpenSslError(err)) throw err;
    return fail(scheme, `the signature cannot be opened with the DG15 key (${err.message})`);
  }
  if (f[0] !== HEADER_PARTIAL_RECOVERY) return fail(scheme, `the opened signature starts with ${toHex(f.subarray(0, 1))}, not the 6A header`);
  const trailer = readTrailer(f);
  if (typeof trailer === 'string') return fail(scheme, trailer);
  const { name, length } = HASHES[trailer.hash];
  const algorithm = `${scheme} with ${name}`;
  const digestStart = f.length - trailer.length - length;
  if (digestStart < 1) return fail(algorithm, 'the modulus is too short for this hash');
  const expected = createHash(trailer.hash).update(f.subarray(1, digestStart)).update(challenge).digest();
  if (!timingSafeEqual(expected, f.subarray(digestStart, digestStart + length))) return fail(algorithm, 'the recovered hash is not H(M1 || challenge)');
  return { outcome: 'passed', algorithm };
}

/**
 * Plain r || s as ICAO prescribes; any other length is tried as a DER ECDSA-Sig-Value, which some national ID
 * cards return instead (e.g. the Portuguese Cartão de Cidadão).
 */
function verifyEcdsa(key: EcPublicKey, hash: ActiveAuthenticationHash, challenge: Uint8Array, signature: Uint8Array): ActiveAuthenticationResult {
  const algorithm = `ECDSA ${key.domain.name} with ${HASHES[hash].name}`;
  const dsaEncoding = signature.length === 2 * key.domain.Point.Fn.BYTES ? 'ieee-p1363' : 'der';
  // Built from a point already checked to be on the curve: a failure here is ours, not the chip's.
  const publicKey = ecPublicKeyObject(key);
  let valid: boolean;
  try {
    valid = verify(hash, challenge, { key: publicKey, dsaEncoding }, signature);
  } catch (err) {
    // node:crypto answers false to signatures that do not decode; an OpenSSL error is one it refused outright.
    if (!isOpenSslError(err)) throw err;
    valid = false;
  }
  return valid ? { outcome: 'passed', algorithm } : { outcome: 'failed', algorithm, reason: `the ${dsaEncoding === 'der' ? 'DER' : 'plain'} ECDSA signature does not verify` };
}

type SignatureVerifier = (challenge: Uint8Array, signature: Uint8Array) => ActiveAuthenticationResult;

const DG15_KEY = 'DG15 active authentication public key';

/** DG15's key type, from our own parser: the card's bytes are structure-checked before any library sees them. */
function activeAuthenticationKeyOf(spki: Uint8Array): ActiveAuthenticationKey {
  try {
    return parseSubjectPublicKeyInfo(spki);
  } catch (err) {
    // A TLV that does not decode is a malformed key like any other structure error of it.
    if (isKioskError(err, 'TLV_MALFORMED')) throw new KioskError('LDS_MALFORMED', `${DG15_KEY}: ${err.message}`, { cause: err, details: { file: 'DG15' } });
    throw err;
  }
}

/**
 * How to verify signatures of DG15's key: RSA through node:crypto, EC keys of a curve we implement with the hash
 * resolved now, so that an unsupported algorithm costs no command. A key of another type is CARD_UNSUPPORTED; a
 * key that does not decode, or an RSA key OpenSSL refuses, LDS_MALFORMED.
 */
function signatureVerifier(spki: Uint8Array, signatureAlgorithm: string | undefined): SignatureVerifier {
  const parsed = activeAuthenticationKeyOf(spki);
  if (parsed.algorithm === 'ec') {
    const ecKey = readEcPublicKey(spki, DG15_KEY);
    const hash = ecdsaHash(ecKey, signatureAlgorithm);
    return (challenge, signature) => verifyEcdsa(ecKey, hash, challenge, signature);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (err) {
    if (!isOpenSslError(err)) throw err;
    throw new KioskError('LDS_MALFORMED', `${DG15_KEY}: OpenSSL cannot read the RSA key (${err.message})`, { cause: err, details: { file: 'DG15' } });
  }
  const modulusBytes = Math.ceil(parsed.keyBits / 8);
  return (challenge, signature) => verifyIso9796(key, modulusBytes, challenge, signature);
}

/**
 * Terminal side of Active Authentication over `channel` (normally the SM channel after PACE or BAC), with DG15's
 * SubjectPublicKeyInfo. A signature that does not verify is a 'failed' outcome; an unsupported key or algorithm
 * throws CARD_UNSUPPORTED, a malformed key LDS_MALFORMED, a refusal CARD_STATUS_ERROR, transport errors theirs.
 */
export async function performActiveAuthentication(
  channel: ApduTransceiver,
  dg15PublicKey: Uint8Array,
  options: ActiveAuthenticationOptions = {},
): Promise<ActiveAuthenticationResult> {
  const verifySignature = signatureVerifier(dg15PublicKey, options.signatureAlgorithm);
  const challenge = options.challenge ?? new Uint8Array(randomBytes(CHALLENGE_LENGTH));
  if (challenge.length !== CHALLENGE_LENGTH) throw new RangeError(`the challenge has ${CHALLENGE_LENGTH} bytes, got ${challenge.length}`);
  const command = encodeCommand(internalAuthenticate(challenge));
  const { data: signature } = expectSuccess('AA INTERNAL AUTHENTICATE', await channel.transmit(command));
  return verifySignature(challenge, signature);
}

// ---- chip ----

export interface ActiveAuthenticationChipOptions {
  /**
   * RSA: the ISO/IEC 9796-2 hash, SHA-1 with trailer BC by default, others with the two-byte trailer (SHA-256 =
   * 34CC). EC: the ECDSA hash DG14's ActiveAuthenticationInfo names; by default the one matching the key size.
   */
  hash?: ActiveAuthenticationHash;
  /**
   * A cloned chip: signs with this key instead of the genuine one. DG15 still holds the genuine public key, so the
   * signature is well-formed but does not verify.
   */
  cloneKey?: KeyObject;
}

/** F = 6A || M1 || H(M1 || challenge) || trailer, M1 random and as long as the modulus allows; then F^d mod n. */
function signIso9796(key: KeyObject, hash: ActiveAuthenticationHash, challenge: Uint8Array): Uint8Array {
  const modulusLength = key.asymmetricKeyDetails?.modulusLength ?? 0;
  // With a whole-byte modulus, F (leading bits 01) is always below n.
  if (modulusLength % 8 !== 0) throw new RangeError(`an RSA modulus of ${modulusLength} bits is not whole bytes`);
  const trailer = hash === 'sha1' ? Uint8Array.of(TRAILER_IMPLICIT_SHA1) : Uint8Array.of(HASHES[hash].trailerId, TRAILER_EXPLICIT);
  const m1 = new Uint8Array(randomBytes(modulusLength / 8 - 1 - HASHES[hash].length - trailer.length));
  const digest = new Uint8Array(createHash(hash).update(m1).update(challenge).digest());
  const f = concatBytes(Uint8Array.of(HEADER_PARTIAL_RECOVERY), m1, digest, trailer);
  return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, f));
}

/** Chip side of Active Authentication for a virtual card: answers INTERNAL AUTHENTICATE with its private key. */
export class ActiveAuthenticationChip implements ChipProtocol {
  private readonly signingKey: KeyObject;
  private readonly hash: ActiveAuthenticationHash;

  constructor(privateKey: KeyObject, options: ActiveAuthenticationChipOptions = {}) {
    if (privateKey.type !== 'private') throw new RangeError('active authentication needs a private key');
    this.signingKey = options.cloneKey ?? privateKey;
    if (this.signingKey.asymmetricKeyType === 'rsa') {
      this.hash = options.hash ?? 'sha1';
    } else {
      const publicKey = new Uint8Array(createPublicKey(this.signingKey).export({ format: 'der', type: 'spki' }));
      this.hash = options.hash ?? ecdsaHash(readEcPublicKey(publicKey, 'active authentication private key'), undefined);
    }
  }

  /** True for the command this class answers: INTERNAL AUTHENTICATE. */
  handles(command: CommandApdu): boolean {
    return command.cla === 0 && command.ins === INS_INTERNAL_AUTHENTICATE;
  }

  process(command: CommandApdu): ChipAccessResult {
    if (command.ins !== INS_INTERNAL_AUTHENTICATE) return chipReply(0x6d00);
    if (command.p1 !== 0 || command.p2 !== 0) return chipReply(0x6a86);
    const challenge = command.data;
    if (challenge?.length !== CHALLENGE_LENGTH) return chipReply(0x6700);
    const signature =
      this.signingKey.asymmetricKeyType === 'rsa'
        ? signIso9796(this.signingKey, this.hash, challenge)
        : new Uint8Array(sign(this.hash, challenge, { key: this.signingKey, dsaEncoding: 'ieee-p1363' }));
    return chipReply(0x9000, signature);
  }
}
