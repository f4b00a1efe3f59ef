import { KioskError } from '@kiosk/common';
import type { Tlv } from './tlv.js';

/**
 * DER primitives shared by the LDS parsers, the EF.SOD / CMS walker and the trust store: universal tag numbers,
 * OBJECT IDENTIFIER and time decoding. One strict copy, because all of them read hostile bytes (chip files, master
 * lists, CRLs). Errors are TLV_MALFORMED unless the caller passes `fail` to name its own (LDS_MALFORMED with a file).
 */

/** Universal (and the two context-specific constructed) tags as one byte, the form `Tlv.tag` holds them in. */
export const ASN1_TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
  CONTEXT_2: 0xa2,
  CONTEXT_3: 0xa3,
} as const;

/** Builds the error a decoder throws; callers pass one to keep their own code and file name. */
export type DerFailure = (message: string) => KioskError;

export const derMalformed: DerFailure = (message) => new KioskError('TLV_MALFORMED', message);

/** Longest arc accepted, in bytes: room for a UUID arc (2.25.<128 bits>), and no quadratic BigInt on hostile input. */
const MAX_ARC_BYTES = 20;

/**
 * Dotted OID from the content bytes of an OBJECT IDENTIFIER. Strict (X.690 §8.19): not empty, every arc minimal
 * (no leading 0x80 byte), no arc longer than MAX_ARC_BYTES, no arc cut off at the end.
 */
export function decodeOid(content: Uint8Array, fail: DerFailure = derMalformed): string {
  if (content.length === 0) throw fail('empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let arc = 0n;
  let arcBytes = 0;
  for (const byte of content) {
    if (arcBytes === 0 && byte === 0x80) throw fail('OBJECT IDENTIFIER arc with a leading 80 byte');
    if (++arcBytes > MAX_ARC_BYTES) throw fail(`OBJECT IDENTIFIER arc longer than ${MAX_ARC_BYTES} bytes`);
    arc = (arc << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0n;
      arcBytes = 0;
    }
  }
  if (arcBytes > 0) throw fail('OBJECT IDENTIFIER ends inside an arc');
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Content bytes of an OBJECT IDENTIFIER from its dotted form; RangeError for a string that is no OID. */
export function encodeOid(oid: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(oid)) throw new RangeError(`not a dotted OID: ${oid}`);
  const arcs = oid.split('.').map((a) => BigInt(a));
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 < 2n && a1 >= 40n) throw new RangeError(`second arc of ${oid} must be below 40`);
  const out: number[] = [];
  for (const arc of [a0 * 40n + a1, ...arcs.slice(2)]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return Uint8Array.from(out);
}

/** UTCTime (RFC 5280 §4.1.2.5.1: years 50-99 are 19xx) or GeneralizedTime, both in Zulu form. */
export function decodeTime(tlv: Tlv, fail: DerFailure = derMalformed): Date {
  const text = new TextDecoder('latin1').decode(tlv.value);
  const utc = tlv.tag === ASN1_TAG.UTC_TIME;
  const match = utc ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match || (!utc && tlv.tag !== ASN1_TAG.GENERALIZED_TIME)) throw fail(`time "${text}" is not a Zulu UTCTime or GeneralizedTime`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const year = utc ? (y >= 50 ? 1900 + y : 2000 + y) : y;
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s));
}
