import { timingSafeEqual } from 'node:crypto';
import { KioskError } from '@kiosk/common';
import { decodeCommand, decodeResponse, encodeCommand, encodeResponse, isExtended, swHex, type CommandApdu, type ResponseApdu } from '../../smartcard/apdu.js';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { concatBytes } from '../../encoding/bytes.js';
import type { KeyAlgorithm } from '../crypto/kdf.js';
import { pad, unpad } from '../crypto/padding.js';
import type { DeviationCode } from '../deviations.js';
import { decodeTlvList, encodeTlv, type Tlv } from '../../encoding/tlv.js';
import { createCipherSuite, type SmCipherSuite } from './cipher-suite.js';

const TAG_DATA_EVEN = 0x87;
const TAG_DATA_ODD = 0x85;
const TAG_LE = 0x97;
const TAG_STATUS = 0x99;
const TAG_MAC = 0x8e;
const PADDING_INDICATOR = 0x01;
const MAC_LENGTH = 8;
const SM_CLA_BITS = 0x0c;
/** Status words a chip answers to a broken protected command (ISO 7816-4): DOs missing / DOs incorrect. */
const SW_SM_MISSING = 0x6987;
const SW_SM_INCORRECT = 0x6988;

const NONE = new Uint8Array(0);

/** Data objects of a protected message, in the order ICAO prescribes: [85|87] [97|99] 8E. */
interface ProtectedObjects {
  data: Tlv | undefined;
  /** DO97 in a command, DO99 in a response. */
  control: Tlv | undefined;
  /** The bytes the MAC covers (everything before DO8E). */
  macInput: Uint8Array;
  mac: Uint8Array;
}

function encodeLe(le: number): Uint8Array {
  if (!Number.isInteger(le) || le < 1 || le > 65536) throw new RangeError(`Le ${le} out of range 1..65536`);
  if (le > 256) return Uint8Array.of((le >> 8) & 0xff, le & 0xff);
  return Uint8Array.of(le & 0xff);
}

/**
 * Status words a card may answer unprotected: errors, and 6282 (end of file, here with nothing to return: an empty
 * file on a chip that does not protect warnings). 9000 and the other 61xx / 62xx statuses go with data and may not.
 */
function isPlainErrorStatus(sw: number): boolean {
  const sw1 = sw >> 8;
  return (sw1 >= 0x63 && sw1 <= 0x6f) || sw === 0x6282;
}

/**
 * A response under secure messaging whose data came without a MAC: the chip answered a warning or error (e.g.
 * 6282 for a READ BINARY past the end of a file) and protected nothing. The data is discarded unread; the session
 * is over (the chip's send sequence counter is unknown). `sw` is the unprotected trailer.
 */
export class UnprotectedResponseError extends KioskError {
  readonly sw: number;

  constructor(sw: number, dataLength: number) {
    super('CARD_SM_FAILED', `secure messaging: the chip answered SW ${swHex(sw)} with ${dataLength} bytes of data and no MAC (discarded)`, { details: { sw: swHex(sw) } });
    this.sw = sw;
  }
}

/** Whether protected data ends in DO8E (a body that is not BER-TLV does not). */
function endsInMac(body: Uint8Array): boolean {
  try {
    return decodeTlvList(body).at(-1)?.tag === TAG_MAC;
  } catch {
    return false;
  }
}

/**
 * An ISO/IEC 7816-4 secure-messaging session as ICAO 9303-11 §9.8 profiles it: CLA masked with 0C, data in DO87
 * (even INS, with the 01 padding-content indicator) or DO85 (odd INS), Le in DO97, status in DO99, and an 8-byte
 * MAC in DO8E over SSC || padded header || data objects. The send sequence counter is incremented before every
 * command and every response. Both roles live here: the terminal wraps commands and unwraps responses, the chip
 * (our virtual card) unwraps commands and wraps responses. After any failure the session refuses further use, as
 * ICAO requires the keys to be discarded.
 */
export class SecureMessaging {
  private readonly counter: Uint8Array;
  private failed = false;
  /** The chip answered without secure messaging; whether it counted that answer in its SSC is unknown. */
  private unprotectedAnswer = false;
  /** Told of each departure from ICAO 9303 that unwrapping tolerated (see deviations.ts). */
  onDeviation: ((code: DeviationCode, message: string) => void) | undefined;

  constructor(private readonly suite: SmCipherSuite, ssc: Uint8Array) {
    if (ssc.length !== suite.blockSize) throw new RangeError(`${suite.algorithm} needs a ${suite.blockSize}-byte send sequence counter, got ${ssc.length}`);
    this.counter = ssc.slice();
  }

  static fromKeys(algorithm: KeyAlgorithm, kEnc: Uint8Array, kMac: Uint8Array, ssc: Uint8Array): SecureMessaging {
    return new SecureMessaging(createCipherSuite(algorithm, kEnc, kMac), ssc);
  }

  get algorithm(): KeyAlgorithm {
    return this.suite.algorithm;
  }

  /** The current send sequence counter (a copy). */
  get ssc(): Uint8Array {
    return this.counter.slice();
  }

  /**
   * False after a failure, or once the chip answered without secure messaging: chips differ in whether such an
   * answer counts in their send sequence counter (and some end the session), so the next command needs a new
   * session. A reader can reopen one (SecureMessagingTransceiver.reestablish).
   */
  get inStep(): boolean {
    return !this.failed && !this.unprotectedAnswer;
  }

  /** Terminal side: the protected form of a plain command. */
  wrapCommand(command: CommandApdu): Uint8Array {
    this.assertUsable();
    const ssc = this.next();
    const cla = command.cla | SM_CLA_BITS;
    const header = pad(Uint8Array.of(cla, command.ins, command.p1, command.p2), this.suite.blockSize);
    const dataDo = command.data && command.data.length > 0 ? this.encryptedDo(ssc, command.ins, command.data) : NONE;
    const leDo = command.le === undefined ? NONE : encodeTlv(TAG_LE, encodeLe(command.le));
    const mac = this.suite.mac(concatBytes(ssc, header, dataDo, leDo));
    const body = concatBytes(dataDo, leDo, encodeTlv(TAG_MAC, mac));
    // The answer always carries DO99 + DO8E, so Le is always present: 00, or 0000 when the APDU is extended anyway.
    const extended = isExtended(command) || body.length > 255;
    return encodeCommand({ cla, ins: command.ins, p1: command.p1, p2: command.p2, data: body, le: extended ? 65536 : 256 });
  }

  /**
   * Terminal side: the plain response. The MAC is verified before anything is decrypted. A bare error status
   * word (a chip that dropped secure messaging answers 6987/6988/6982 unprotected) comes back as that status. A
   * response without DO99 is accepted with its MAC verified over the objects present, and reported to onDeviation.
   */
  unwrapResponse(bytes: Uint8Array): ResponseApdu {
    this.assertUsable();
    if (bytes.length < 2) throw this.fail(`protected response of ${bytes.length} byte(s) has no status word`);
    const { data, sw } = decodeResponse(bytes);
    const ssc = this.next();
    if (data.length === 0) {
      if (!isPlainErrorStatus(sw)) throw this.fail(`status ${swHex(sw)} without secure messaging`);
      this.unprotectedAnswer = true;
      this.onDeviation?.('sm-unprotected-status', 'answered a status word without secure messaging (its send sequence counter is then unknown): a new session was needed after it');
      return { data: NONE, sw };
    }
    if (sw !== 0x9000 && !endsInMac(data)) {
      // Data without a MAC is never used, but a chip that leaves warnings unprotected (virtualsmartcard's ePass
      // answers a READ BINARY past the end of a file so) is told apart from a broken one: the reader then reads
      // no further than a file's end.
      this.failed = true;
      throw new UnprotectedResponseError(sw, data.length);
    }
    const objects = this.parse(data, TAG_STATUS, SW_SM_INCORRECT);
    this.verifyMac(ssc, objects, SW_SM_INCORRECT);
    const status = objects.control;
    if (!status) {
      // ICAO 9303-11 §9.8 puts DO99 in every protected response and MACs DO87 || DO99. Some chips (virtualsmartcard's
      // ePass emulator among them) leave it out, as ISO 7816-4 allows ("status not protected"): the MAC, verified
      // above, then covers what is there (DO87, or only the SSC), and the status is the unprotected trailer's.
      this.onDeviation?.('sm-response-without-do99', 'protected responses carry no DO99: the status word came from the unprotected trailer (data still MAC-checked)');
      return { data: objects.data ? this.decryptDo(ssc, objects.data, SW_SM_INCORRECT) : NONE, sw };
    }
    if (status.value.length !== 2) throw this.fail(`DO99 of ${status.value.length} byte(s), not a two-byte status`);
    const protectedSw = ((status.value[0] as number) << 8) | (status.value[1] as number);
    // The trailer is outside the MAC; one that disagrees with DO99 has been altered.
    if (protectedSw !== sw) throw this.fail(`status ${swHex(sw)} disagrees with protected status ${swHex(protectedSw)}`);
    return { data: objects.data ? this.decryptDo(ssc, objects.data, SW_SM_INCORRECT) : NONE, sw: protectedSw };
  }

  /**
   * Chip side: the plain command inside a protected one, MAC verified first. Failures carry `details.sw`, the
   * status word the chip should answer unprotected (6987 for missing SM objects, 6988 for incorrect ones).
   */
  unwrapCommand(bytes: Uint8Array): CommandApdu {
    this.assertUsable();
    let protectedCommand: CommandApdu;
    try {
      protectedCommand = decodeCommand(bytes);
    } catch (err) {
      throw this.fail('protected command is not a well-formed APDU', SW_SM_INCORRECT, err);
    }
    const { cla, ins, p1, p2, data, le } = protectedCommand;
    const ssc = this.next();
    if ((cla & SM_CLA_BITS) !== SM_CLA_BITS || !data) throw this.fail('command is not protected by secure messaging', SW_SM_MISSING);
    // Le is outside the MAC, so only the one value ICAO prescribes is accepted: 00, or 0000 in extended form.
    const extended = bytes[4] === 0;
    if (le !== (extended ? 65536 : 256)) throw this.fail(`protected Le must be ${extended ? '0000' : '00'}`);
    const objects = this.parse(data, TAG_LE, SW_SM_INCORRECT);
    const header = pad(Uint8Array.of(cla, ins, p1, p2), this.suite.blockSize);
    this.verifyMac(concatBytes(ssc, header), objects, SW_SM_INCORRECT);
    const command: CommandApdu = { cla: cla & ~SM_CLA_BITS & 0xff, ins, p1, p2 };
    if (objects.data) command.data = this.decryptDo(ssc, objects.data, SW_SM_INCORRECT);
    if (objects.control) {
      const le = objects.control.value;
      if (le.length === 1) command.le = le[0] || 256;
      else if (le.length === 2) command.le = (((le[0] as number) << 8) | (le[1] as number)) || 65536;
      else throw this.fail(`DO97 of ${le.length} bytes`, SW_SM_INCORRECT);
    }
    return command;
  }

  /** Chip side: the protected form of a plain response (data in DO87, status in DO99, MAC in DO8E). */
  wrapResponse(response: ResponseApdu): Uint8Array {
    this.assertUsable();
    const ssc = this.next();
    const dataDo = response.data.length > 0 ? this.encryptedDo(ssc, 0, response.data) : NONE;
    const statusDo = encodeTlv(TAG_STATUS, Uint8Array.of(response.sw >> 8, response.sw & 0xff));
    const mac = this.suite.mac(concatBytes(ssc, dataDo, statusDo));
    return encodeResponse(concatBytes(dataDo, statusDo, encodeTlv(TAG_MAC, mac)), response.sw);
  }

  private next(): Uint8Array {
    for (let i = this.counter.length - 1; i >= 0; i--) {
      this.counter[i] = ((this.counter[i] as number) + 1) & 0xff;
      if (this.counter[i] !== 0) break;
    }
    return this.counter.slice();
  }

  private assertUsable(): void {
    if (this.failed) throw new KioskError('CARD_SM_FAILED', 'the secure messaging session ended after a failure');
  }

  private fail(message: string, sw = SW_SM_INCORRECT, cause?: unknown): KioskError {
    this.failed = true;
    return new KioskError('CARD_SM_FAILED', `secure messaging: ${message}`, { cause, details: { sw: swHex(sw) } });
  }

  private encryptedDo(ssc: Uint8Array, ins: number, data: Uint8Array): Uint8Array {
    const cryptogram = this.suite.encrypt(ssc, pad(data, this.suite.blockSize));
    // Odd INS carry BER-TLV data, which needs no padding indicator (ISO 7816-4 §10.2.2).
    return ins & 1 ? encodeTlv(TAG_DATA_ODD, cryptogram) : encodeTlv(TAG_DATA_EVEN, Uint8Array.of(PADDING_INDICATOR), cryptogram);
  }

  private decryptDo(ssc: Uint8Array, tlv: Tlv, sw: number): Uint8Array {
    let cryptogram = tlv.value;
    if (tlv.tag === TAG_DATA_EVEN) {
      if (cryptogram[0] !== PADDING_INDICATOR) throw this.fail('DO87 lacks the 01 padding-content indicator', sw);
      cryptogram = cryptogram.subarray(1);
    }
    if (cryptogram.length === 0 || cryptogram.length % this.suite.blockSize !== 0) {
      throw this.fail(`cryptogram of ${cryptogram.length} bytes is not whole ${this.suite.blockSize}-byte blocks`, sw);
    }
    try {
      return unpad(this.suite.decrypt(ssc, cryptogram), this.suite.blockSize);
    } catch (err) {
      throw this.fail('decrypted data is not padded', sw, err);
    }
  }

  /** Splits protected data into its objects; any other tag, a repeated or misplaced object, or no 8-byte DO8E fails. */
  private parse(body: Uint8Array, controlTag: number, sw: number): ProtectedObjects {
    let list: Tlv[];
    try {
      list = decodeTlvList(body);
    } catch (err) {
      throw this.fail('protected data is not BER-TLV', sw, err);
    }
    const last = list.at(-1);
    if (!last || last.tag !== TAG_MAC) throw this.fail('protected data does not end in DO8E', SW_SM_MISSING);
    if (last.value.length !== MAC_LENGTH) throw this.fail(`DO8E of ${last.value.length} bytes`, sw);
    const rank = (tag: number): number => (tag === TAG_DATA_EVEN || tag === TAG_DATA_ODD ? 0 : tag === controlTag ? 1 : -1);
    const objects: ProtectedObjects = { data: undefined, control: undefined, macInput: body.subarray(0, last.start), mac: last.value };
    let previous = -1;
    for (const tlv of list.slice(0, -1)) {
      const r = rank(tlv.tag);
      if (r <= previous) throw this.fail(`unexpected data object ${tlv.tag.toString(16).toUpperCase()}`, sw);
      previous = r;
      if (r === 0) objects.data = tlv;
      else objects.control = tlv;
    }
    return objects;
  }

  private verifyMac(prefix: Uint8Array, objects: ProtectedObjects, sw: number): void {
    const expected = this.suite.mac(concatBytes(prefix, objects.macInput));
    if (!timingSafeEqual(expected, objects.mac)) throw this.fail('MAC does not verify', sw);
  }
}

/** Carries plain APDUs over a secure-messaging session: what the file layer uses once access control is done. */
export class SecureMessagingTransceiver implements ApduTransceiver {
  private current: SecureMessaging;
  /**
   * How to open a new session (access control again, same key) when the chip answered without secure messaging
   * and so left the counters out of step (SecureMessaging.inStep). Set only while files are read: a file that is
   * not there then costs a new session instead of the read. Unset, such a channel fails as before.
   */
  reestablish: (() => Promise<SecureMessaging>) | undefined;

  /** `onDeviation` is handed to the session and to each new one (a read passes its DeviationLog's record). */
  constructor(
    private readonly inner: ApduTransceiver,
    session: SecureMessaging,
    private readonly onDeviation?: (code: DeviationCode, message: string) => void,
  ) {
    this.current = session;
    if (onDeviation) session.onDeviation = onDeviation;
  }

  get session(): SecureMessaging {
    return this.current;
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    if (this.reestablish && !this.current.inStep) {
      this.current = await this.reestablish();
      if (this.onDeviation) this.current.onDeviation = this.onDeviation;
    }
    const protectedCommand = this.current.wrapCommand(decodeCommand(command));
    const response = this.current.unwrapResponse(await this.inner.transmit(protectedCommand));
    return encodeResponse(response.data, response.sw);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}
