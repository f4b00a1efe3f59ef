import { KioskError } from '@kiosk/common';
import { ASN1_TAG } from '../../encoding/der.js';
import { decodeTlv, encodeTlv, type Tlv } from '../../encoding/tlv.js';
import type { EfRef } from './file-reader.js';

/**
 * The elementary files of the ICAO LDS 1.7 eMRTD application (ICAO 9303-10 §4.6, §4.7): file identifier, short
 * file identifier and the tag of the template that wraps each file's content. EF.CardAccess lives outside the
 * application (under the MF) and is a bare SecurityInfos SET, so it has no LDS template tag.
 */
export interface LdsFile extends EfRef {
  sfi: number;
  /** Tag of the outer template (DG1 = 0x61, EF.COM = 0x60); undefined for EF.CardAccess. */
  tag: number | undefined;
  /** 1..16 for data groups. */
  dataGroup: number | undefined;
  /** What the file holds, for logs and diagnostics. */
  description: string;
}

export const EF_CARD_ACCESS: LdsFile = { name: 'EF.CardAccess', fileId: 0x011c, sfi: 0x1c, tag: undefined, dataGroup: undefined, description: 'SecurityInfos for PACE' };
export const EF_COM: LdsFile = { name: 'EF.COM', fileId: 0x011e, sfi: 0x1e, tag: 0x60, dataGroup: undefined, description: 'LDS version and data group list' };
export const EF_SOD: LdsFile = { name: 'EF.SOD', fileId: 0x011d, sfi: 0x1d, tag: 0x77, dataGroup: undefined, description: 'Document Security Object (signed data group hashes)' };

const DATA_GROUP_DEFINITIONS: readonly (readonly [tag: number, description: string])[] = [
  [0x61, 'MRZ'],
  [0x75, 'encoded face'],
  [0x63, 'encoded fingerprints (EAC-protected)'],
  [0x76, 'encoded irises (EAC-protected)'],
  [0x65, 'displayed portrait'],
  [0x66, 'reserved for future use'],
  [0x67, 'displayed signature or usual mark'],
  [0x68, 'data features'],
  [0x69, 'structure features'],
  [0x6a, 'substance features'],
  [0x6b, 'additional personal details'],
  [0x6c, 'additional document details'],
  [0x6d, 'optional details (Vietnam CCCD: personal data)'],
  [0x6e, 'security options (Chip Authentication)'],
  [0x6f, 'Active Authentication public key'],
  [0x70, 'persons to notify'],
];

export const DATA_GROUPS: readonly LdsFile[] = DATA_GROUP_DEFINITIONS.map(([tag, description], i) => ({
  name: `DG${i + 1}`,
  fileId: 0x0101 + i,
  sfi: i + 1,
  tag,
  dataGroup: i + 1,
  description,
}));

export const LDS_FILES: readonly LdsFile[] = [EF_CARD_ACCESS, EF_COM, EF_SOD, ...DATA_GROUPS];

/** The file of data group `n` (1..16). */
export function dataGroupFile(n: number): LdsFile {
  const file = DATA_GROUPS[n - 1];
  if (!Number.isInteger(n) || !file) throw new RangeError(`no data group ${n}; data groups are 1..16`);
  return file;
}

/** The data group whose template has this tag (the EF.COM tag list names data groups by tag). */
export function dataGroupByTag(tag: number): LdsFile | undefined {
  return DATA_GROUPS.find((f) => f.tag === tag);
}

export function ldsMalformed(file: string, message: string): KioskError {
  return new KioskError('LDS_MALFORMED', `${file}: ${message}`, { details: { file } });
}

/**
 * The value of the file's outer template. A wrong tag means the bytes are another kind of file (LDS_MALFORMED);
 * bytes after the template are refused too: the file reader trims a file to its TLV length, so trailing bytes
 * mean the input is not one file.
 */
export function unwrapLdsFile(bytes: Uint8Array, file: LdsFile): Uint8Array {
  if (file.tag === undefined) throw new RangeError(`${file.name} has no outer template`);
  const tlv = decodeTlv(bytes, 0);
  if (tlv.tag !== file.tag) throw ldsMalformed(file.name, `outer tag is ${tlv.tag.toString(16).toUpperCase()}, expected ${file.tag.toString(16).toUpperCase()}`);
  if (tlv.end !== bytes.length) throw ldsMalformed(file.name, `${bytes.length - tlv.end} bytes after the template`);
  return tlv.value;
}

export function wrapLdsFile(file: LdsFile, ...values: Uint8Array[]): Uint8Array {
  if (file.tag === undefined) throw new RangeError(`${file.name} has no outer template`);
  return encodeTlv(file.tag, ...values);
}

/**
 * A DER INTEGER that must be non-negative and fit a safe integer (versions, counts, ids, field numbers).
 * `what` names the field for the error.
 */
export function decodeSmallUnsigned(tlv: Tlv, file: string, what: string): number {
  const { value } = tlv;
  if (tlv.tag !== ASN1_TAG.INTEGER) throw ldsMalformed(file, `${what} is not an INTEGER`);
  if (value.length === 0 || value.length > 8) throw ldsMalformed(file, `${what} has ${value.length} bytes`);
  if ((value[0] as number) & 0x80) throw ldsMalformed(file, `${what} is negative`);
  const n = value.reduce((sum, b) => sum * 256 + b, 0);
  if (!Number.isSafeInteger(n)) throw ldsMalformed(file, `${what} is too large`);
  return n;
}

/** DER INTEGER of a non-negative safe integer (minimal, with a leading 00 when the top bit is set). */
export function encodeSmallUnsigned(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative integer: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (bytes.length === 0 || (bytes[0] as number) & 0x80) bytes.unshift(0);
  return encodeTlv(0x02, Uint8Array.from(bytes));
}
