import type { CommandApdu } from '../../smartcard/apdu.js';
import { decodeTlv, decodeTlvList, encodeTlv, type Tlv } from '../../encoding/tlv.js';

/**
 * The ISO/IEC 7816-4 security commands BAC, PACE, Active and Chip Authentication send (ICAO 9303-11 §4, §6): one
 * builder per command, and the constants the chip side matches on, so the terminal and the virtual chip agree on
 * every header byte. The protocols keep only crypto and state.
 */
export const INS_MANAGE_SECURITY_ENVIRONMENT = 0x22;
/** EXTERNAL AUTHENTICATE; BAC uses it as the mutual authentication (with Le, the chip answers its cryptogram). */
export const INS_EXTERNAL_AUTHENTICATE = 0x82;
export const INS_GET_CHALLENGE = 0x84;
export const INS_GENERAL_AUTHENTICATE = 0x86;
export const INS_INTERNAL_AUTHENTICATE = 0x88;

/** CLA bit 5: more commands of the same chain follow (PACE's first three GENERAL AUTHENTICATE steps). */
export const CLA_CHAINING = 0x10;

/**
 * MSE P1 "set" for both directions (C1: PACE's template serves the terminal's and the chip's authentication) or
 * for the chip's computation only (41: Chip Authentication's key agreement).
 */
export const MSE_SET_MUTUAL = 0xc1;
export const MSE_SET_COMPUTATION = 0x41;
/** MSE P2: the control reference template set, Authentication (AT) or Key Agreement (KAT). */
export const MSE_AUTHENTICATION_TEMPLATE = 0xa4;
export const MSE_KEY_AGREEMENT_TEMPLATE = 0xa6;

/** Dynamic authentication data, the wrapper of GENERAL AUTHENTICATE data in both directions. */
export const TAG_DYNAMIC_AUTH_DATA = 0x7c;

/** Le 256 (short 00): "as much as you have", for answers whose length depends on the key (points, signatures). */
const ANY_LENGTH = 256;

/** MSE:Set AT, `template` being the concatenated data objects (mechanism 80, key reference 83/84, ...). */
export function mseSetAt(p1: typeof MSE_SET_MUTUAL | typeof MSE_SET_COMPUTATION, template: Uint8Array): CommandApdu {
  return { cla: 0, ins: INS_MANAGE_SECURITY_ENVIRONMENT, p1, p2: MSE_AUTHENTICATION_TEMPLATE, data: template };
}

/** MSE:Set KAT for the chip's computation (Chip Authentication with 3DES: ephemeral key 91, key reference 84). */
export function mseSetKat(template: Uint8Array): CommandApdu {
  return { cla: 0, ins: INS_MANAGE_SECURITY_ENVIRONMENT, p1: MSE_SET_COMPUTATION, p2: MSE_KEY_AGREEMENT_TEMPLATE, data: template };
}

/** Whether `command` is an MSE:Set with this P1 and P2, whatever its CLA. */
export function isMseSet(command: CommandApdu, p1: number, p2: number): boolean {
  return command.ins === INS_MANAGE_SECURITY_ENVIRONMENT && command.p1 === p1 && command.p2 === p2;
}

/**
 * GENERAL AUTHENTICATE with dynamic authentication data 7C { `objects` }; `chained` when more steps of the same
 * protocol follow (CLA 10).
 */
export function generalAuthenticate(objects: Uint8Array, chained = false): CommandApdu {
  return { cla: chained ? CLA_CHAINING : 0, ins: INS_GENERAL_AUTHENTICATE, p1: 0, p2: 0, data: encodeTlv(TAG_DYNAMIC_AUTH_DATA, objects), le: ANY_LENGTH };
}

/**
 * The data objects inside dynamic authentication data that fills `data` exactly; undefined when `data` is
 * another object or has bytes after it. A TLV that does not decode throws TLV_MALFORMED.
 */
export function dynamicAuthenticationObjects(data: Uint8Array): Tlv[] | undefined {
  const dynamic = decodeTlv(data);
  return dynamic.tag === TAG_DYNAMIC_AUTH_DATA && dynamic.end === data.length ? decodeTlvList(dynamic.value) : undefined;
}

/** GET CHALLENGE for a nonce of `length` bytes. */
export function getChallenge(length: number): CommandApdu {
  return { cla: 0, ins: INS_GET_CHALLENGE, p1: 0, p2: 0, le: length };
}

/** EXTERNAL AUTHENTICATE with the terminal's cryptogram, expecting the chip's of `responseLength` bytes. */
export function externalAuthenticate(cryptogram: Uint8Array, responseLength: number): CommandApdu {
  return { cla: 0, ins: INS_EXTERNAL_AUTHENTICATE, p1: 0, p2: 0, data: cryptogram, le: responseLength };
}

/** INTERNAL AUTHENTICATE with the terminal's challenge; the signature's length depends on the chip's key. */
export function internalAuthenticate(challenge: Uint8Array): CommandApdu {
  return { cla: 0, ins: INS_INTERNAL_AUTHENTICATE, p1: 0, p2: 0, data: challenge, le: ANY_LENGTH };
}
