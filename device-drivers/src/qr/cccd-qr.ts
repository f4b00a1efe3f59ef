import { KioskError } from '@kiosk/common';
import {
  cccdAccessKeys,
  compareCalendarDates,
  decodeCccdIdNumber,
  isCalendarDate,
  localToday,
  type CalendarDate,
  type CccdAccessKeys,
} from '../emrtd/access/access-keys.js';

/**
 * The QR code on the front of the CCCD gắn chip (2021 model): UTF-8 text of '|'-separated fields
 * `ID12|oldID9|Full name|DDMMYYYY|Nam/Nữ|Address|DDMMYYYY` (date of birth, then date of issue). The QR is not
 * signed: its data is a hint for finding the chip's access keys and pre-filling forms until the chip (DG13,
 * verified by passive authentication) confirms it, never proof of identity.
 */
export interface CccdQr {
  kind: 'cccd';
  signed: false;
  idNumber: string;
  /** The old 9-digit CMND number (12 digits on the last CMND model), when the card had one. */
  oldIdNumber: string | undefined;
  fullName: string;
  dateOfBirth: CalendarDate;
  sex: 'male' | 'female' | undefined;
  placeOfResidence: string | undefined;
  dateOfIssue: CalendarDate | undefined;
  /** Fields after the seventh (some card batches are said to add the expiry; unconfirmed), as text. */
  extraFields: string[];
  /** CAN and BAC candidates derived from the ID number and dates. */
  accessKeys: CccdAccessKeys;
}

/**
 * A QR that is a CCCD QR, one that looks like one but fails validation, or any other text, passed through raw
 * (this includes the 2024 Căn cước QR: no public source establishes its text layout, see docs/qr.md). None is
 * signed: every result is a hint until the chip confirms it.
 */
export type IdQrResult = CccdQr | { kind: 'invalid-cccd'; signed: false; text: string; error: KioskError } | { kind: 'unknown'; signed: false; text: string };

/** What was wrong with a CCCD QR, in `error.details.problem`. */
export type CccdQrProblem =
  | 'not-cccd'
  | 'missing-fields'
  | 'id-number'
  | 'old-id-number'
  | 'full-name'
  | 'date-of-birth'
  | 'sex'
  | 'date-of-issue'
  | 'century-mismatch'
  | 'birth-year-mismatch'
  | 'sex-mismatch'
  | 'issue-before-birth';

export interface CccdQrOptions {
  /** The kiosk's current date (expiry candidates depend on it); default: today in local time. */
  today?: CalendarDate | undefined;
}

/** ID number, old ID, name and date of birth are needed for anything useful; the rest may be cut off. */
const REQUIRED_FIELDS = 4;

/** Messages name the problem, never the data: the QR content is personal and errors get logged. */
function problem(kind: CccdQrProblem, message: string): KioskError {
  return new KioskError('QR_FORMAT_INVALID', `CCCD QR: ${message}`, { details: { problem: kind } });
}

/** NFC (scanners and keyboards may deliver decomposed Vietnamese letters), no BOM, outer whitespace trimmed. */
function normalize(text: string): string {
  return text.normalize('NFC').replace(/^\uFEFF/, '').trim();
}

/** Trimmed fields, without the empty ones a trailing '|' leaves. */
function splitFields(text: string): string[] {
  const fields = text.split('|').map((f) => f.trim());
  while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

function looksLikeCccd(fields: string[]): boolean {
  return fields.length >= 2 && /^[0-9]{12}$/.test(fields[0] ?? '');
}

function parseDate(field: string, kind: 'date-of-birth' | 'date-of-issue', label: string): CalendarDate {
  const match = /^([0-9]{2})([0-9]{2})([0-9]{4})$/.exec(field);
  const date = match && { day: Number(match[1]), month: Number(match[2]), year: Number(match[3]) };
  if (!date || !isCalendarDate(date)) throw problem(kind, `${label} is not a DDMMYYYY date that exists`);
  return date;
}

function parseSex(field: string): 'male' | 'female' | undefined {
  if (field === '') return undefined;
  const value = field.toLocaleLowerCase('vi');
  if (value === 'nam') return 'male';
  if (value === 'nữ') return 'female';
  throw problem('sex', 'sex is neither "Nam" nor "Nữ"');
}

function parseFields(fields: string[], today: CalendarDate): CccdQr {
  if (!looksLikeCccd(fields)) throw problem('not-cccd', 'text is not a CCCD QR (12-digit ID number and |-separated fields)');
  if (fields.length < REQUIRED_FIELDS) throw problem('missing-fields', `${fields.length} fields; at least ID number, old ID, name and date of birth are needed`);
  const [idNumber, oldId, fullName, dob, sexField = '', address = '', issue = '', ...extraFields] = fields as [string, string, string, string, ...string[]];
  if (oldId !== '' && !/^[0-9]{9}([0-9]{3})?$/.test(oldId)) throw problem('old-id-number', 'old ID number is neither 9 nor 12 digits');
  if (fullName === '') throw problem('full-name', 'full name is empty');
  const dateOfBirth = parseDate(dob, 'date-of-birth', 'date of birth');
  const sex = parseSex(sexField);
  const dateOfIssue = issue === '' ? undefined : parseDate(issue, 'date-of-issue', 'date of issue');

  const id = decodeCccdIdNumber(idNumber);
  if (Math.floor(id.birthYear / 100) !== Math.floor(dateOfBirth.year / 100)) throw problem('century-mismatch', "ID number's century digit does not match the date of birth");
  if (id.birthYear !== dateOfBirth.year) throw problem('birth-year-mismatch', "ID number's birth year does not match the date of birth");
  if (sex !== undefined && sex !== id.sex) throw problem('sex-mismatch', "ID number's sex digit does not match the sex field");
  if (dateOfIssue && compareCalendarDates(dateOfIssue, dateOfBirth) < 0) throw problem('issue-before-birth', 'date of issue is before the date of birth');
  return {
    kind: 'cccd',
    signed: false,
    idNumber,
    oldIdNumber: oldId === '' ? undefined : oldId,
    fullName,
    dateOfBirth,
    sex,
    placeOfResidence: address === '' ? undefined : address,
    dateOfIssue,
    extraFields,
    accessKeys: cccdAccessKeys({ idNumber, dateOfBirth, dateOfIssue, today }),
  };
}

/** Strict: the CCCD QR data, or USAGE with `details.problem` (a CccdQrProblem) naming what is wrong. */
export function parseCccdQr(text: string, options: CccdQrOptions = {}): CccdQr {
  return parseFields(splitFields(normalize(text)), options.today ?? localToday());
}

/** Any scanned text: a CCCD QR, an invalid CCCD QR (with the reason), or unknown text for other handlers. */
export function parseIdQr(text: string, options: CccdQrOptions = {}): IdQrResult {
  const fields = splitFields(normalize(text));
  if (!looksLikeCccd(fields)) return { kind: 'unknown', signed: false, text };
  try {
    return parseFields(fields, options.today ?? localToday());
  } catch (err) {
    if (err instanceof KioskError) return { kind: 'invalid-cccd', signed: false, text, error: err };
    throw err;
  }
}
