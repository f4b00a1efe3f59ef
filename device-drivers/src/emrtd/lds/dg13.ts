import { ASN1_TAG } from '../../encoding/der.js';
import { decodeTlv, decodeTlvList, encodeTlv, type Tlv } from '../../encoding/tlv.js';
import { dataGroupFile, decodeSmallUnsigned, encodeSmallUnsigned, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';

/**
 * DG13 of the Vietnamese CCCD / Căn cước chip (Vietnam-specific, no public spec; layout agreed by three independent
 * public parsers): 6D { 30 { 02 version, 06 OID 1.0.10646.1.0.8 (UTF-8), 31 { 30 { 02 n, value } ... } } }.
 * Fields are found by their INTEGER number n, never by position: fields may be absent and lengths vary.
 * Text is kept exactly as stored (UTF-8, no normalisation), dates as the card writes them ("dd/mm/yyyy").
 */
export interface Dg13Fields {
  /** 1: số định danh cá nhân, the 12-digit ID number. */
  idNumber?: string | undefined;
  /** 2: họ và tên. */
  fullName?: string | undefined;
  /** 3: ngày sinh, "dd/mm/yyyy". */
  dateOfBirth?: string | undefined;
  /** 4: giới tính, "Nam" / "Nữ". */
  sex?: string | undefined;
  /** 5: quốc tịch. */
  nationality?: string | undefined;
  /** 6: dân tộc. */
  ethnicity?: string | undefined;
  /** 7: tôn giáo. */
  religion?: string | undefined;
  /** 8: quê quán. */
  placeOfOrigin?: string | undefined;
  /** 9: nơi thường trú. */
  placeOfResidence?: string | undefined;
  /** 10: đặc điểm nhận dạng. */
  identificationMarks?: string | undefined;
  /** 11: ngày cấp, "dd/mm/yyyy". */
  dateOfIssue?: string | undefined;
  /** 12: ngày hết hạn; a date, or text such as "Không thời hạn" on cards without expiry. */
  dateOfExpiry?: string | undefined;
  /** 13: cha (first name of the parents field). */
  fatherName?: string | undefined;
  /** 13: mẹ (second name of the parents field). */
  motherName?: string | undefined;
  /** 14: vợ/chồng; the card writes the field empty when there is none. */
  spouseName?: string | undefined;
  /** 15: số CMND cũ, the old 9-digit ID (absent when none). */
  oldIdNumber?: string | undefined;
  /**
   * 16: a 16-character string whose meaning is unconfirmed (one parser reads it as hex, perhaps a chip or card
   * serial; another calls it the old ID). Kept verbatim under a name that does not pretend to know.
   */
  unknown16?: string | undefined;
  /** Fields with numbers other than 1..16, kept raw so nothing on the card is dropped. */
  otherFields?: Dg13RawField[] | undefined;
}

export interface Dg13RawField {
  number: number;
  /** DER of everything after the field's INTEGER. */
  value: Uint8Array;
}

/**
 * Two encodings of field 13 exist in public code: 'separate' = 30 { 02 0D, 30 { father }, 30 { mother } } (agreed
 * by two parsers and the C reader's offsets), 'combined' = 30 { 02 0D, 30 { father, mother } } (one parser).
 */
export type ParentsEncoding = 'separate' | 'combined';

export interface Dg13 extends Dg13Fields {
  version: number;
  /** How the card encoded field 13; undefined when the field is absent or holds nothing. */
  parentsEncoding: ParentsEncoding | undefined;
  otherFields: Dg13RawField[];
}

export interface EncodeDg13Options {
  /** Default 'separate', the encoding most evidence points to. */
  parentsEncoding?: ParentsEncoding;
}

type TextProperty = Exclude<keyof Dg13Fields, 'fatherName' | 'motherName' | 'spouseName' | 'otherFields'>;
type StringKind = 'printable' | 'utf8';

/** Field number, property and the string type the card uses (PrintableString for digits and dates). */
const TEXT_FIELDS: readonly (readonly [number: number, property: TextProperty, kind: StringKind])[] = [
  [1, 'idNumber', 'printable'],
  [2, 'fullName', 'utf8'],
  [3, 'dateOfBirth', 'printable'],
  [4, 'sex', 'utf8'],
  [5, 'nationality', 'utf8'],
  [6, 'ethnicity', 'utf8'],
  [7, 'religion', 'utf8'],
  [8, 'placeOfOrigin', 'utf8'],
  [9, 'placeOfResidence', 'utf8'],
  [10, 'identificationMarks', 'utf8'],
  [11, 'dateOfIssue', 'printable'],
  [12, 'dateOfExpiry', 'utf8'],
  [15, 'oldIdNumber', 'printable'],
  [16, 'unknown16', 'printable'],
];
const FIELD_PARENTS = 13;
const FIELD_SPOUSE = 14;

const DG13 = dataGroupFile(13);
const FILE = DG13.name;
/** UTF8String, PrintableString, IA5String, VisibleString: all read as UTF-8 (the others are ASCII subsets). */
const STRING_TAGS = new Set<number>([ASN1_TAG.UTF8_STRING, ASN1_TAG.PRINTABLE_STRING, ASN1_TAG.IA5_STRING, ASN1_TAG.VISIBLE_STRING]);
/** 1.0.10646.1.0.8, the ISO/IEC 10646 UTF-8 encoding-level OID the card declares. */
const UTF8_OID = Uint8Array.of(0x28, 0xd3, 0x16, 0x01, 0x00, 0x08);
const DG13_VERSION = 1;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(message: string): never {
  throw ldsMalformed(FILE, message);
}

function text(tlv: Tlv, field: number): string | undefined {
  if (!STRING_TAGS.has(tlv.tag)) malformed(`field ${field} holds tag ${tlv.tag.toString(16).toUpperCase()}, not a string`);
  let value: string;
  try {
    value = utf8.decode(tlv.value);
  } catch {
    return malformed(`field ${field} is not valid UTF-8`);
  }
  return value === '' ? undefined : value;
}

/** The strings of a field's elements: bare strings, or strings inside SEQUENCEs (one list per SEQUENCE). */
function stringGroups(elements: Tlv[], field: number): (string | undefined)[][] {
  return elements.map((e) => (e.tag === ASN1_TAG.SEQUENCE ? decodeTlvList(e.value).map((s) => text(s, field)) : [text(e, field)]));
}

function singleText(elements: Tlv[], field: number): string | undefined {
  const groups = stringGroups(elements, field);
  if (groups.length > 1 || (groups[0]?.length ?? 0) > 1) malformed(`field ${field} holds more than one value`);
  return groups[0]?.[0];
}

function parents(elements: Tlv[]): { fatherName: string | undefined; motherName: string | undefined; parentsEncoding: ParentsEncoding | undefined } {
  const groups = stringGroups(elements, FIELD_PARENTS);
  if (groups.length === 0) return { fatherName: undefined, motherName: undefined, parentsEncoding: undefined };
  const sequences = elements.every((e) => e.tag === ASN1_TAG.SEQUENCE);
  if (sequences && groups.length === 2 && groups.every((g) => g.length <= 1)) {
    return { fatherName: groups[0]![0], motherName: groups[1]![0], parentsEncoding: 'separate' };
  }
  if (sequences && groups.length === 1 && groups[0]!.length <= 2) {
    return { fatherName: groups[0]![0], motherName: groups[0]![1], parentsEncoding: 'combined' };
  }
  return malformed('field 13 (parents) is neither two SEQUENCEs of one name nor one SEQUENCE of two names');
}

function fieldNumber(tlv: Tlv | undefined): number {
  if (!tlv) return malformed('a field has no number');
  return decodeSmallUnsigned(tlv, FILE, 'field number');
}

export function parseDg13(bytes: Uint8Array): Dg13 {
  const content = unwrapLdsFile(bytes, DG13);
  const sequence = decodeTlv(content, 0);
  if (sequence.tag !== ASN1_TAG.SEQUENCE || sequence.end !== content.length) malformed('content is not one SEQUENCE');
  const [versionTlv, oid, set, ...rest] = decodeTlvList(sequence.value);
  if (!versionTlv || oid?.tag !== ASN1_TAG.OID || set?.tag !== ASN1_TAG.SET || rest.length > 0) malformed('expected SEQUENCE { INTEGER version, OID, SET of fields }');
  const result: Dg13 = { version: decodeSmallUnsigned(versionTlv, FILE, 'version'), parentsEncoding: undefined, otherFields: [] };
  const seen = new Set<number>();
  for (const fieldTlv of decodeTlvList(set.value)) {
    if (fieldTlv.tag !== ASN1_TAG.SEQUENCE) malformed(`a field is tag ${fieldTlv.tag.toString(16).toUpperCase()}, not a SEQUENCE`);
    const [numberTlv, ...elements] = decodeTlvList(fieldTlv.value);
    const number = fieldNumber(numberTlv);
    if (seen.has(number)) malformed(`field ${number} appears twice`);
    seen.add(number);
    const textField = TEXT_FIELDS.find(([n]) => n === number);
    if (textField) {
      result[textField[1]] = singleText(elements, number);
    } else if (number === FIELD_PARENTS) {
      Object.assign(result, parents(elements));
    } else if (number === FIELD_SPOUSE) {
      result.spouseName = singleText(elements, number);
    } else {
      const valueStart = numberTlv!.end;
      result.otherFields.push({ number, value: fieldTlv.value.slice(valueStart) });
    }
  }
  return result;
}

function stringTlv(value: string | undefined, kind: StringKind, field: number): Uint8Array {
  const v = value ?? '';
  if (kind === 'printable' && !PRINTABLE.test(v)) throw new RangeError(`DG13 field ${field} must be PrintableString characters`);
  if (/\p{Cs}/u.test(v)) throw new RangeError(`DG13 field ${field} has a lone surrogate, which UTF-8 cannot carry`);
  return encodeTlv(kind === 'printable' ? ASN1_TAG.PRINTABLE_STRING : ASN1_TAG.UTF8_STRING, new TextEncoder().encode(v));
}

function fieldTlv(number: number, ...values: Uint8Array[]): Uint8Array {
  return encodeTlv(ASN1_TAG.SEQUENCE, encodeSmallUnsigned(number), ...values);
}

function parentsTlv(fields: Dg13Fields, encoding: ParentsEncoding): Uint8Array {
  const father = stringTlv(fields.fatherName, 'utf8', FIELD_PARENTS);
  const mother = stringTlv(fields.motherName, 'utf8', FIELD_PARENTS);
  return encoding === 'separate'
    ? fieldTlv(FIELD_PARENTS, encodeTlv(ASN1_TAG.SEQUENCE, father), encodeTlv(ASN1_TAG.SEQUENCE, mother))
    : fieldTlv(FIELD_PARENTS, encodeTlv(ASN1_TAG.SEQUENCE, father, mother));
}

/**
 * DG13 in the real card's layout: fields in number order, text as UTF8String or PrintableString as the card uses
 * them, field 13 (parents) and 14 (spouse, empty `30 03 02 01 0E` when none) always present, other fields only
 * when given. Empty strings count as absent, as the parser reads them.
 */
export function encodeDg13(fields: Dg13Fields, options: EncodeDg13Options = {}): Uint8Array {
  const entries: [number, Uint8Array][] = [];
  for (const [number, property, kind] of TEXT_FIELDS) {
    const value = fields[property];
    if (value) entries.push([number, fieldTlv(number, stringTlv(value, kind, number))]);
  }
  entries.push([FIELD_PARENTS, parentsTlv(fields, options.parentsEncoding ?? 'separate')]);
  const spouse = fields.spouseName ? [encodeTlv(ASN1_TAG.SEQUENCE, stringTlv(fields.spouseName, 'utf8', FIELD_SPOUSE))] : [];
  entries.push([FIELD_SPOUSE, fieldTlv(FIELD_SPOUSE, ...spouse)]);
  for (const other of fields.otherFields ?? []) {
    if (other.number >= 1 && other.number <= 16) throw new RangeError(`DG13 field ${other.number} is a named field, not an other field`);
    try {
      decodeTlvList(other.value);
    } catch (cause) {
      throw new RangeError(`DG13 field ${other.number}: value is not a list of TLVs`, { cause });
    }
    entries.push([other.number, fieldTlv(other.number, other.value)]);
  }
  const numbers = entries.map(([n]) => n);
  if (new Set(numbers).size !== numbers.length) throw new RangeError('DG13 fields must have distinct numbers');
  entries.sort(([a], [b]) => a - b);
  return wrapLdsFile(
    DG13,
    encodeTlv(ASN1_TAG.SEQUENCE, encodeSmallUnsigned(DG13_VERSION), encodeTlv(ASN1_TAG.OID, UTF8_OID), encodeTlv(ASN1_TAG.SET, ...entries.map(([, bytes]) => bytes))),
  );
}
