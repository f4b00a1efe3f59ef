import { ldsMalformed } from './files.js';

/**
 * Machine Readable Zone of ICAO 9303 Parts 3-5: TD1 (3 x 30, ID cards such as the Vietnamese CCCD) and TD3
 * (2 x 44, passports), with every check digit verified, plus the BAC key string MRZ_information (9303-11 §9.7.2).
 * Written here rather than with the `mrz` package because that one refuses states missing from its list (the
 * ICAO specimen state UTO), reports bad fields instead of failing, and checks no CCCD-specific data.
 */
export type MrzFormat = 'TD1' | 'TD3';
/** ICAO uses M, F and '<' (unspecified); some states print X for unspecified. */
export type MrzSex = 'M' | 'F' | 'X' | '<';

export interface MrzFields {
  format: MrzFormat;
  /** 'ID', 'I', 'P', ... (trailing fillers removed). */
  documentCode: string;
  /** 'VNM', 'UTO', 'D' (trailing fillers removed). */
  issuingState: string;
  /** Without fillers; on TD1 it may be longer than 9 characters (continued in the optional data). */
  documentNumber: string;
  /** YYMMDD; '<' where the date is partly unknown. */
  dateOfBirth: string;
  sex: MrzSex;
  dateOfExpiry: string;
  nationality: string;
  /** Surname(s), words separated by single spaces. */
  primaryIdentifier: string;
  /** Given names, words separated by single spaces. */
  secondaryIdentifier: string;
  /** TD1 line 1 optional data (after a long document number), TD3 personal number; trailing fillers removed. */
  optionalData1: string;
  /** TD1 line 2 optional data; always '' on TD3. */
  optionalData2: string;
}

export interface MrzData extends MrzFields {
  lines: string[];
  /**
   * CCCD: the 12-digit personal ID number, which the card keeps in the TD1 line-1 optional data as
   * ID12 + '<<' + its check digit (the document number holds only its last 9 digits). Undefined elsewhere.
   */
  cccdIdNumber: string | undefined;
}

const MRZ_CHARS = /^[0-9A-Z<]*$/;
const WEIGHTS = [7, 3, 1] as const;
const LAYOUTS = { TD1: { lines: 3, width: 30 }, TD3: { lines: 2, width: 44 } } as const;
const CCCD_OPTIONAL_DATA = /^([0-9]{12})<<([0-9])$/;

/** ICAO 9303-3 §4.9: weights 7, 3, 1; digits as themselves, A-Z as 10-35, '<' as 0; sum mod 10. */
export function mrzCheckDigit(text: string): number {
  if (!MRZ_CHARS.test(text)) throw new RangeError('check digits are computed over MRZ characters (0-9, A-Z, <) only');
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const value = c === 0x3c ? 0 : c <= 0x39 ? c - 0x30 : c - 0x37;
    sum += value * WEIGHTS[i % 3]!;
  }
  return sum % 10;
}

/**
 * BAC / PACE-MRZ key string: document number padded with '<' to at least 9 characters, date of birth and date
 * of expiry (YYMMDD), each followed by its check digit. A longer document number is used whole (9303-11 §9.7.2).
 */
export function mrzInformation(documentNumber: string, dateOfBirth: string, dateOfExpiry: string): string {
  if (!/^[0-9A-Z<]+$/.test(documentNumber)) throw new RangeError('document number must be MRZ characters (0-9, A-Z, <)');
  if (!/^[0-9]{6}$/.test(dateOfBirth) || !/^[0-9]{6}$/.test(dateOfExpiry)) throw new RangeError('dates must be YYMMDD');
  const number = documentNumber.padEnd(9, '<');
  return [number, dateOfBirth, dateOfExpiry].map((field) => `${field}${mrzCheckDigit(field)}`).join('');
}

/** Messages name the field, never its value (MRZ data is personal and errors get logged). */
function malformed(message: string): never {
  throw ldsMalformed('MRZ', message);
}

function stripFillers(field: string): string {
  return field.replace(/<+$/, '');
}

function checkDigit(name: string, data: string, digit: string, emptyMayBeFiller = false): void {
  if (emptyMayBeFiller && digit === '<' && /^<*$/.test(data)) return;
  if (!/^[0-9]$/.test(digit)) malformed(`${name} check digit is not a digit`);
  const expected = mrzCheckDigit(data);
  if (Number(digit) !== expected) malformed(`${name} check digit is ${digit}, computed ${expected}`);
}

function parseName(field: string): { primaryIdentifier: string; secondaryIdentifier: string } {
  if (!/^[A-Z<]*$/.test(field)) malformed('name contains characters other than A-Z and <');
  const split = field.indexOf('<<');
  const words = (part: string): string => stripFillers(part).replace(/</g, ' ');
  if (split < 0) return { primaryIdentifier: words(field), secondaryIdentifier: '' };
  return { primaryIdentifier: words(field.slice(0, split)), secondaryIdentifier: words(field.slice(split + 2)) };
}

function parseSex(c: string): MrzSex {
  if (c === 'M' || c === 'F' || c === 'X' || c === '<') return c;
  return malformed('sex is not M, F, X or <');
}

function parseDate(name: string, field: string): string {
  if (!/^[0-9<]{6}$/.test(field)) malformed(`${name} is not YYMMDD`);
  return field;
}

function parseCode(name: string, field: string, letters: RegExp): string {
  if (!letters.test(field)) malformed(`${name} is not letters and fillers`);
  return stripFillers(field);
}

function splitLines(text: string): { format: MrzFormat; lines: string[] } {
  const joined = text.replace(/\r?\n/g, '');
  if (!MRZ_CHARS.test(joined)) malformed('contains characters other than 0-9, A-Z and <');
  const format = (Object.keys(LAYOUTS) as MrzFormat[]).find((f) => LAYOUTS[f].lines * LAYOUTS[f].width === joined.length);
  if (!format) return malformed(`${joined.length} characters; TD1 has 90, TD3 has 88 (TD2 is not supported)`);
  const { lines: count, width } = LAYOUTS[format];
  return { format, lines: Array.from({ length: count }, (_, i) => joined.slice(i * width, (i + 1) * width)) };
}

/** TD1 line 1 from position 6: document number, its check digit, optional data; a long number overflows. */
function parseTd1DocumentNumber(line1: string): { documentNumber: string; optionalData1: string } {
  const principal = line1.slice(5, 14);
  const digit = line1.charAt(14);
  const optional = line1.slice(15, 30);
  if (digit !== '<') {
    checkDigit('document number', principal, digit);
    if (/^<*$/.test(principal)) malformed('document number is empty');
    return { documentNumber: stripFillers(principal), optionalData1: stripFillers(optional) };
  }
  // 9303-5 §4.2.2: the rest of the number, its check digit and a filler start the optional data.
  const end = optional.indexOf('<') < 0 ? optional.length : optional.indexOf('<');
  if (end < 2 || principal.includes('<')) malformed('document number is marked as continued but has no continuation');
  const documentNumber = principal + optional.slice(0, end - 1);
  checkDigit('document number', documentNumber, optional.charAt(end - 1));
  return { documentNumber, optionalData1: stripFillers(optional.slice(end + 1)) };
}

function cccdIdNumber(fields: MrzFields): string | undefined {
  if (fields.format !== 'TD1' || fields.issuingState !== 'VNM') return undefined;
  const match = CCCD_OPTIONAL_DATA.exec(fields.optionalData1);
  if (!match) return undefined;
  checkDigit('CCCD ID number', match[1]!, match[2]!);
  return match[1];
}

function parseTd1([l1, l2, l3]: string[]): MrzFields {
  const line1 = l1!;
  const line2 = l2!;
  checkDigit('date of birth', line2.slice(0, 6), line2.charAt(6));
  checkDigit('date of expiry', line2.slice(8, 14), line2.charAt(14));
  checkDigit('composite', line1.slice(5, 30) + line2.slice(0, 7) + line2.slice(8, 15) + line2.slice(18, 29), line2.charAt(29));
  return {
    format: 'TD1',
    documentCode: parseCode('document code', line1.slice(0, 2), /^[A-Z][A-Z<]$/),
    issuingState: parseCode('issuing state', line1.slice(2, 5), /^[A-Z][A-Z<]{2}$/),
    ...parseTd1DocumentNumber(line1),
    dateOfBirth: parseDate('date of birth', line2.slice(0, 6)),
    sex: parseSex(line2.charAt(7)),
    dateOfExpiry: parseDate('date of expiry', line2.slice(8, 14)),
    nationality: parseCode('nationality', line2.slice(15, 18), /^[A-Z<]{3}$/),
    optionalData2: stripFillers(line2.slice(18, 29)),
    ...parseName(l3!),
  };
}

function parseTd3([l1, l2]: string[]): MrzFields {
  const line1 = l1!;
  const line2 = l2!;
  checkDigit('document number', line2.slice(0, 9), line2.charAt(9));
  if (/^<*$/.test(line2.slice(0, 9))) malformed('document number is empty');
  checkDigit('date of birth', line2.slice(13, 19), line2.charAt(19));
  checkDigit('date of expiry', line2.slice(21, 27), line2.charAt(27));
  checkDigit('personal number', line2.slice(28, 42), line2.charAt(42), true);
  checkDigit('composite', line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 43), line2.charAt(43));
  return {
    format: 'TD3',
    documentCode: parseCode('document code', line1.slice(0, 2), /^[A-Z][A-Z<]$/),
    issuingState: parseCode('issuing state', line1.slice(2, 5), /^[A-Z][A-Z<]{2}$/),
    documentNumber: stripFillers(line2.slice(0, 9)),
    dateOfBirth: parseDate('date of birth', line2.slice(13, 19)),
    sex: parseSex(line2.charAt(20)),
    dateOfExpiry: parseDate('date of expiry', line2.slice(21, 27)),
    nationality: parseCode('nationality', line2.slice(10, 13), /^[A-Z<]{3}$/),
    optionalData1: stripFillers(line2.slice(28, 42)),
    optionalData2: '',
    ...parseName(line1.slice(5, 44)),
  };
}

/** Parses a TD1 or TD3 MRZ, as DG1 stores it (lines concatenated) or with line breaks; LDS_MALFORMED if invalid. */
export function parseMrz(text: string): MrzData {
  const { format, lines } = splitLines(text);
  const fields = format === 'TD1' ? parseTd1(lines) : parseTd3(lines);
  return { ...fields, lines, cccdIdNumber: cccdIdNumber(fields) };
}

function field(name: string, value: string, width: number, pattern = /^[0-9A-Z<]*$/): string {
  if (value.length > width || !pattern.test(value)) throw new RangeError(`MRZ ${name} does not fit ${width} MRZ characters`);
  return value.padEnd(width, '<');
}

function nameField(fields: MrzFields, width: number): string {
  const words = /^([A-Z]+( [A-Z]+)*)?$/;
  if (!words.test(fields.primaryIdentifier) || !words.test(fields.secondaryIdentifier)) throw new RangeError('MRZ names must be words of A-Z separated by single spaces');
  const primary = fields.primaryIdentifier.replace(/ /g, '<');
  const secondary = fields.secondaryIdentifier.replace(/ /g, '<');
  return field('name', secondary ? `${primary}<<${secondary}` : primary, width);
}

function withDigit(value: string): string {
  return `${value}${mrzCheckDigit(value)}`;
}

/** TD1 document number and line-1 optional data, using the long-number form above 9 characters. */
function td1NumberAndOptional(fields: MrzFields): string {
  const number = field('document number', fields.documentNumber, 23, /^[0-9A-Z]+$/);
  const digits = stripFillers(number);
  if (digits.length <= 9) return field('document number', digits, 9) + mrzCheckDigit(digits.padEnd(9, '<')) + field('optional data', fields.optionalData1, 15);
  const continuation = `${digits.slice(9)}${mrzCheckDigit(digits)}`;
  const optional = fields.optionalData1 ? `${continuation}<${fields.optionalData1}` : continuation;
  return `${digits.slice(0, 9)}<${field('optional data', optional, 15)}`;
}

/** Builds the MRZ text (lines concatenated, as in DG1) with all check digits; RangeError if a field does not fit. */
export function formatMrz(fields: MrzFields): string {
  const code = field('document code', fields.documentCode, 2, /^[A-Z][A-Z<]?$/);
  const state = field('issuing state', fields.issuingState, 3, /^[A-Z][A-Z<]{0,2}$/);
  const nationality = field('nationality', fields.nationality, 3, /^[A-Z<]{0,3}$/);
  const dob = field('date of birth', fields.dateOfBirth, 6, /^[0-9<]{6}$/);
  const doe = field('date of expiry', fields.dateOfExpiry, 6, /^[0-9<]{6}$/);
  if (fields.format === 'TD1') {
    const line1 = `${code}${state}${td1NumberAndOptional(fields)}`;
    const line2Start = `${withDigit(dob)}${fields.sex}${withDigit(doe)}${nationality}${field('optional data 2', fields.optionalData2, 11)}`;
    const composite = mrzCheckDigit(line1.slice(5, 30) + line2Start.slice(0, 7) + line2Start.slice(8, 15) + line2Start.slice(18, 29));
    return `${line1}${line2Start}${composite}${nameField(fields, 30)}`;
  }
  if (fields.optionalData2) throw new RangeError('TD3 has no second optional data field');
  const number = withDigit(field('document number', fields.documentNumber, 9, /^[0-9A-Z]+$/));
  const personal = field('personal number', fields.optionalData1, 14);
  const line2Start = `${number}${nationality}${withDigit(dob)}${fields.sex}${withDigit(doe)}${withDigit(personal)}`;
  const composite = mrzCheckDigit(line2Start.slice(0, 10) + line2Start.slice(13, 20) + line2Start.slice(21, 43));
  return `${code}${state}${nameField(fields, 39)}${line2Start}${composite}`;
}
