import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import { decodeResponse, encodeCommand, type CommandApdu } from '../../smartcard/apdu.js';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { concatBytes } from '../../encoding/bytes.js';
import { chipReply, type ChipAccessResult, type ChipProtocol } from '../chip-side.js';
import { retailMac, tdesCbcDecrypt, tdesCbcEncrypt } from '../crypto/des.js';
import { deriveKey, KDF_ENC, KDF_MAC } from '../crypto/kdf.js';
import { externalAuthenticate, getChallenge, INS_EXTERNAL_AUTHENTICATE, INS_GET_CHALLENGE } from '../iso7816/security-commands.js';
import { accessKeyRejected, CardStatusError, isAccessKeyRejected } from '../iso7816/status.js';
import { SecureMessaging } from '../sm/secure-messaging.js';

/**
 * Basic Access Control (ICAO 9303-11 §4.3): challenge-response with 2-key 3DES keys derived from the MRZ
 * (document number, date of birth, date of expiry, each with its check digit), ending in a 3DES SM session.
 */
const NONCE_LENGTH = 8;
const KEY_MATERIAL_LENGTH = 16;
const CRYPTOGRAM_LENGTH = 32;
const AUTH_DATA_LENGTH = CRYPTOGRAM_LENGTH + 8;
const ZERO_IV = new Uint8Array(8);

export interface BacKeys {
  kEnc: Uint8Array;
  kMac: Uint8Array;
}

/** K_seed = first 16 bytes of SHA-1(MRZ_information); K_enc / K_mac from it by the ICAO KDF. */
export function deriveBacKeys(mrzInformation: string): BacKeys {
  if (!/^[0-9A-Z<]+$/.test(mrzInformation)) throw new RangeError('MRZ_information must be MRZ characters (0-9, A-Z, <)');
  const seed = new Uint8Array(createHash('sha1').update(mrzInformation, 'ascii').digest()).slice(0, 16);
  return { kEnc: deriveKey(seed, '3DES', KDF_ENC), kMac: deriveKey(seed, '3DES', KDF_MAC) };
}

/** E = 3DES-CBC(K_enc, S), M = retail MAC(K_mac, E): the cryptogram both sides send. */
function authenticate(keys: BacKeys, s: Uint8Array): Uint8Array {
  const e = tdesCbcEncrypt(keys.kEnc, ZERO_IV, s);
  return concatBytes(e, retailMac(keys.kMac, e));
}

/** Decrypts a peer's cryptogram after checking its MAC; undefined when the MAC is wrong or the length is. */
function openCryptogram(keys: BacKeys, data: Uint8Array): Uint8Array | undefined {
  if (data.length !== AUTH_DATA_LENGTH) return undefined;
  const e = data.subarray(0, CRYPTOGRAM_LENGTH);
  if (!timingSafeEqual(retailMac(keys.kMac, e), data.subarray(CRYPTOGRAM_LENGTH))) return undefined;
  return tdesCbcDecrypt(keys.kEnc, ZERO_IV, e);
}

/** Session keys from K_IFD xor K_IC; SSC = last 4 bytes of RND.IC || last 4 bytes of RND.IFD. */
function sessionFrom(kIfd: Uint8Array, kIc: Uint8Array, rndIc: Uint8Array, rndIfd: Uint8Array): SecureMessaging {
  const seed = kIfd.map((b, i) => b ^ (kIc[i] as number));
  const ssc = concatBytes(rndIc.subarray(4), rndIfd.subarray(4));
  return SecureMessaging.fromKeys('3DES', deriveKey(seed, '3DES', KDF_ENC), deriveKey(seed, '3DES', KDF_MAC), ssc);
}

export interface BacOptions {
  /** Terminal nonce RND.IFD (8 bytes); random unless given (known-answer tests). */
  rndIfd?: Uint8Array;
  /** Terminal key material K.IFD (16 bytes); random unless given. */
  kIfd?: Uint8Array;
}

/** Terminal side of BAC: GET CHALLENGE, EXTERNAL AUTHENTICATE, and the 3DES session that follows. */
export async function performBac(transceiver: ApduTransceiver, mrzInformation: string, options: BacOptions = {}): Promise<SecureMessaging> {
  const keys = deriveBacKeys(mrzInformation);
  const rndIfd = options.rndIfd ?? new Uint8Array(randomBytes(NONCE_LENGTH));
  const kIfd = options.kIfd ?? new Uint8Array(randomBytes(KEY_MATERIAL_LENGTH));
  if (rndIfd.length !== NONCE_LENGTH || kIfd.length !== KEY_MATERIAL_LENGTH) throw new RangeError('RND.IFD has 8 bytes and K.IFD 16');

  const challenge = decodeResponse(await transceiver.transmit(encodeCommand(getChallenge(NONCE_LENGTH))));
  if (challenge.sw !== 0x9000) throw new CardStatusError('BAC GET CHALLENGE', challenge.sw);
  if (challenge.data.length !== NONCE_LENGTH) {
    throw new KioskError('CARD_SM_FAILED', `BAC GET CHALLENGE: challenge of ${challenge.data.length} bytes, expected 8`);
  }
  const rndIc = challenge.data;

  const data = authenticate(keys, concatBytes(rndIfd, rndIc, kIfd));
  const answer = decodeResponse(await transceiver.transmit(encodeCommand(externalAuthenticate(data, AUTH_DATA_LENGTH))));
  if (isAccessKeyRejected(answer.sw)) throw accessKeyRejected('BAC EXTERNAL AUTHENTICATE', answer.sw);
  if (answer.sw !== 0x9000) throw new CardStatusError('BAC EXTERNAL AUTHENTICATE', answer.sw);
  const r = openCryptogram(keys, answer.data);
  // R = RND.IC || RND.IFD || K.IC; a wrong MAC or nonce means the answer is not from a chip holding our key.
  if (!r || !timingSafeEqual(r.subarray(0, 8), rndIc) || !timingSafeEqual(r.subarray(8, 16), rndIfd)) {
    throw new KioskError('CARD_SM_FAILED', 'BAC EXTERNAL AUTHENTICATE: the chip cryptogram does not verify');
  }
  return sessionFrom(kIfd, r.subarray(16), rndIc, rndIfd);
}

export interface BacChipOptions {
  /** Chip nonces RND.IC, used in turn by successive GET CHALLENGEs (known-answer tests); random otherwise. */
  rndIc?: Uint8Array[];
  /** Chip key material K.IC (16 bytes); random unless given. */
  kIc?: Uint8Array;
}

/**
 * Chip side of BAC for a virtual card: answers GET CHALLENGE and EXTERNAL AUTHENTICATE from its own
 * MRZ_information. A wrong cryptogram answers 6300; each challenge serves one authentication attempt.
 */
export class BacChip implements ChipProtocol {
  private readonly keys: BacKeys;
  private readonly rndIcQueue: Uint8Array[];
  private challenge: Uint8Array | undefined;

  constructor(mrzInformation: string, private readonly options: BacChipOptions = {}) {
    this.keys = deriveBacKeys(mrzInformation);
    this.rndIcQueue = [...(options.rndIc ?? [])];
  }

  /** True for the commands this class answers (plain GET CHALLENGE and EXTERNAL AUTHENTICATE). */
  handles(command: CommandApdu): boolean {
    return command.cla === 0 && (command.ins === INS_GET_CHALLENGE || command.ins === INS_EXTERNAL_AUTHENTICATE);
  }

  process(command: CommandApdu): ChipAccessResult {
    if (command.ins === INS_GET_CHALLENGE) {
      if (command.le !== NONCE_LENGTH || command.data) return chipReply(0x6700);
      this.challenge = this.rndIcQueue.shift() ?? new Uint8Array(randomBytes(NONCE_LENGTH));
      return chipReply(0x9000, this.challenge);
    }
    if (command.ins !== INS_EXTERNAL_AUTHENTICATE) return chipReply(0x6d00);
    const rndIc = this.challenge;
    this.challenge = undefined;
    if (!rndIc) return chipReply(0x6985);
    if (command.data?.length !== AUTH_DATA_LENGTH) return chipReply(0x6700);
    const s = openCryptogram(this.keys, command.data);
    if (!s || !timingSafeEqual(s.subarray(8, 16), rndIc)) return chipReply(0x6300);
    const rndIfd = s.subarray(0, 8);
    const kIc = this.options.kIc ?? new Uint8Array(randomBytes(KEY_MATERIAL_LENGTH));
    const data = authenticate(this.keys, concatBytes(rndIc, rndIfd, kIc));
    return { response: { data, sw: 0x9000 }, session: sessionFrom(s.subarray(16), kIc, rndIc, rndIfd) };
  }
}
