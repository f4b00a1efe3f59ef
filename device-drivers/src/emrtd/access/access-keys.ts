import { KioskError } from '@kiosk/common';
import { mrzInformation } from '../lds/mrz.js';
import type { PacePassword } from './pace.js';

/**
 * The keys that open a chip: a CAN (PACE) or the MRZ triple (BAC, or PACE with the MRZ password), their
 * validation, the command-line forms, and their derivation for a Vietnamese CCCD / Căn cước from the 12-digit
 * personal ID number and the date of birth (which the card's QR code carries).
 */
export type AccessKey = CanKey | MrzKey;
export interface CanKey {
  kind: 'can';
  can: string;
}
export interface MrzKey {
  kind: 'mrz';
  documentNumber: string;
  /** YYMMDD. */
  dateOfBirth: string;
  /** YYMMDD. */
  dateOfExpiry: string;
}

/** A date of the Gregorian calendar; month 1-12. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** Messages name the field, never its value: keys are personal data and errors get logged. */
function usage(message: string, field: string): KioskError {
  return new KioskError('USAGE', message, { details: { field } });
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function isCalendarDate(date: CalendarDate): boolean {
  const { year, month, day } = date;
  if (![year, month, day].every(Number.isInteger) || year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  return day <= (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * Whether YYMMDD names a day that exists. The century is unknown, so 29 February counts when YY is a multiple of 4
 * (2000 was a leap year, so YY = 00 is one in one of its centuries).
 */
export function isMrzDate(yymmdd: string): boolean {
  if (!/^[0-9]{6}$/.test(yymmdd)) return false;
  const yy = Number(yymmdd.slice(0, 2));
  return isCalendarDate({ year: 2000 + yy, month: Number(yymmdd.slice(2, 4)), day: Number(yymmdd.slice(4, 6)) });
}

export function toMrzDate(date: CalendarDate): string {
  return [date.year % 100, date.month, date.day].map((n) => String(n).padStart(2, '0')).join('');
}

/** A CAN key; USAGE unless it is 6 digits. */
export function canKey(can: string): CanKey {
  if (!/^[0-9]{6}$/.test(can)) throw usage('a CAN is 6 digits', 'can');
  return { kind: 'can', can };
}

/**
 * An MRZ key; USAGE unless the document number is 1-22 MRZ characters (TD1 numbers may exceed 9) and both
 * dates are YYMMDD days that exist. Letters are upper-cased as the MRZ has them.
 */
export function mrzKey(documentNumber: string, dateOfBirth: string, dateOfExpiry: string): MrzKey {
  const number = documentNumber.toUpperCase();
  if (!/^[0-9A-Z<]{1,22}$/.test(number) || /^<+$/.test(number)) throw usage('a document number is 1 to 22 characters of 0-9, A-Z and <', 'documentNumber');
  if (!isMrzDate(dateOfBirth)) throw usage('date of birth is not a YYMMDD date that exists', 'dateOfBirth');
  if (!isMrzDate(dateOfExpiry)) throw usage('date of expiry is not a YYMMDD date that exists', 'dateOfExpiry');
  return { kind: 'mrz', documentNumber: number, dateOfBirth, dateOfExpiry };
}

/** Checks a key built elsewhere (e.g. from JSON); USAGE if invalid. */
export function validateAccessKey(key: AccessKey): AccessKey {
  return key.kind === 'can' ? canKey(key.can) : mrzKey(key.documentNumber, key.dateOfBirth, key.dateOfExpiry);
}

/** The PACE password a key stands for: the CAN as it is, the MRZ triple as MRZ_information (ICAO 9303-11 §4.4). */
export function pacePassword(key: AccessKey): PacePassword {
  return key.kind === 'can' ? { kind: 'can', can: key.can } : { kind: 'mrz', mrzInformation: mrzInformation(key.documentNumber, key.dateOfBirth, key.dateOfExpiry) };
}

/**
 * The MRZ_information BAC derives its keys from (ICAO 9303-11 §4.3). BAC has no CAN variant, so a CAN is
 * CARD_UNSUPPORTED: the card, not the key, is what cannot be opened with it.
 */
export function bacMrzInformation(key: AccessKey): string {
  if (key.kind === 'can') throw new KioskError('CARD_UNSUPPORTED', 'BAC needs MRZ data, not a CAN');
  return mrzInformation(key.documentNumber, key.dateOfBirth, key.dateOfExpiry);
}

/** The value of `--mrz DOCNO,YYMMDD,YYMMDD` (document number, date of birth, date of expiry). */
export function parseMrzArgument(value: string): MrzKey {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== 3) throw usage('--mrz takes DOCNO,YYMMDD,YYMMDD (document number, date of birth, date of expiry)', 'mrz');
  const [documentNumber, dateOfBirth, dateOfExpiry] = parts as [string, string, string];
  return mrzKey(documentNumber, dateOfBirth, dateOfExpiry);
}

/** The key given by the `--can N` / `--mrz DOCNO,YYMMDD,YYMMDD` options: exactly one of them. */
export function accessKeyFromOptions(options: { can?: string | undefined; mrz?: string | undefined }): AccessKey {
  if (options.can !== undefined && options.mrz !== undefined) throw usage('give either --can or --mrz, not both', 'can');
  if (options.can !== undefined) return canKey(options.can.trim());
  if (options.mrz !== undefined) return parseMrzArgument(options.mrz);
  throw usage('an access key is needed: --can N or --mrz DOCNO,YYMMDD,YYMMDD', 'can');
}

// ---- CCCD ----------------------------------------------------------------------------------------------------

/** What the 12-digit personal ID number says about its holder (Thông tư 07/2016/TT-BCA, Điều 7). */
export interface CccdIdNumberInfo {
  /** 3-digit code of the province of birth registration. */
  provinceCode: string;
  sex: 'male' | 'female';
  /** The full birth year, from the century/sex digit and the 2-digit year. */
  birthYear: number;
}

/**
 * Decodes an ID12: province (3 digits), century/sex digit (0/1 = male/female born 1900-1999, 2/3 = 2000-2099,
 * and so on by century up to 8/9), 2-digit birth year, 6 serial digits. USAGE if it is not 12 digits.
 */
export function decodeCccdIdNumber(idNumber: string): CccdIdNumberInfo {
  if (!/^[0-9]{12}$/.test(idNumber)) throw usage('a CCCD ID number is 12 digits', 'idNumber');
  const centurySex = Number(idNumber[3]);
  return {
    provinceCode: idNumber.slice(0, 3),
    sex: centurySex % 2 === 0 ? 'male' : 'female',
    birthYear: 1900 + Math.floor(centurySex / 2) * 100 + Number(idNumber.slice(4, 6)),
  };
}

/** The keys of a CCCD chip, in the order a kiosk should try them. */
export interface CccdAccessKeys {
  /** PACE with the CAN: needs no dates, so it is tried first. */
  can: CanKey;
  /** BAC candidates (document number = last 9 digits of the ID), most likely expiry first. */
  bac: MrzKey[];
}

/**
 * Ages at which a card must be renewed, so the card expires on that birthday (Luật CCCD 2014 Điều 21 and Luật Căn
 * cước 2023 Điều 21: 25, 40, 60; the 2023 law adds 14 for cards issued to children). A card issued less than two
 * years before one of these ages is valid until the next one; from the last one on it does not expire.
 */
const RENEWAL_AGES = [14, 25, 40, 60] as const;
const ISSUE_WINDOW_YEARS = 2;

export function compareCalendarDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/**
 * The birthday at `age` as the card would print it. For 29 February in a common year the card's choice is
 * unknown, so both neighbours are returned (28 February first).
 */
function birthdaysAt(dateOfBirth: CalendarDate, age: number): CalendarDate[] {
  const year = dateOfBirth.year + age;
  const date = { year, month: dateOfBirth.month, day: dateOfBirth.day };
  if (isCalendarDate(date)) return [date];
  return [
    { year, month: 2, day: 28 },
    { year, month: 3, day: 1 },
  ];
}

/** The expiry the renewal rule gives a card issued on `dateOfIssue`; undefined for a card without expiry. */
function expiryAge(dateOfBirth: CalendarDate, dateOfIssue: CalendarDate): number | undefined {
  return RENEWAL_AGES.find((age) => compareCalendarDates(dateOfIssue, birthdaysAt(dateOfBirth, age - ISSUE_WINDOW_YEARS)[0]!) < 0);
}

/**
 * Chip cards exist since 2021 (CCCD gắn chip) and cards for children under 14 since 1 July 2024 (Luật Căn cước),
 * so a card cannot have expired before then: such candidates are dropped.
 */
const CHIP_CARDS_SINCE: CalendarDate = { year: 2021, month: 1, day: 1 };
const CHILD_CARDS_SINCE: CalendarDate = { year: 2024, month: 7, day: 1 };

function possibleExpiry(dateOfBirth: CalendarDate, age: number): boolean {
  return compareCalendarDates(birthdaysAt(dateOfBirth, age)[0]!, age === RENEWAL_AGES[0] ? CHILD_CARDS_SINCE : CHIP_CARDS_SINCE) > 0;
}

/**
 * Expiry ages to try, most likely first. With the issue date (printed on the card and in its QR code) the rule
 * gives the expiry directly; it goes first but is not the only candidate, because the two-year window's exact
 * boundary and re-issued cards are uncertain. Then, judged from today:
 * 1. the next renewal age: a valid card expires there;
 * 2. the one after it, if today is inside the two-year window before the next age (the card may come from that
 *    window);
 * 3. the last renewal age already passed: an expired card, still readable, so the kiosk can say it has expired.
 * A failed BAC attempt costs a round trip (some chips answer more slowly after failures), so the list stays short.
 * Cards issued from age 58 on have no expiry, and what their MRZ holds as the expiry date is not known, so none is
 * derived: for them (and whenever BAC fails) PACE with the CAN is the way in.
 */
function candidateExpiryAges(dateOfBirth: CalendarDate, today: CalendarDate, dateOfIssue: CalendarDate | undefined): number[] {
  const ages: (number | undefined)[] = [];
  if (dateOfIssue) ages.push(expiryAge(dateOfBirth, dateOfIssue));
  const next = RENEWAL_AGES.findIndex((age) => compareCalendarDates(today, birthdaysAt(dateOfBirth, age)[0]!) < 0);
  if (next >= 0) {
    const nextAge = RENEWAL_AGES[next]!;
    ages.push(nextAge);
    if (compareCalendarDates(today, birthdaysAt(dateOfBirth, nextAge - ISSUE_WINDOW_YEARS)[0]!) >= 0) ages.push(RENEWAL_AGES[next + 1]);
  }
  const previous = next < 0 ? RENEWAL_AGES.length - 1 : next - 1;
  if (previous >= 0) ages.push(RENEWAL_AGES[previous]);
  const possible = ages.filter((age): age is number => age !== undefined && possibleExpiry(dateOfBirth, age));
  return [...new Set(possible)];
}

export interface CccdKeyInput {
  /** The 12-digit personal ID number. */
  idNumber: string;
  dateOfBirth: CalendarDate;
  /** When known (QR code, card face): makes the expiry exact. */
  dateOfIssue?: CalendarDate | undefined;
  /** The kiosk's current date; the candidates depend on it. */
  today: CalendarDate;
}

/**
 * The access keys of a CCCD chip: CAN = last 6 digits of the ID number (the card prints no separate CAN), BAC
 * document number = its last 9 digits (the MRZ document number), date of birth, and candidate expiry dates from
 * the renewal rule. USAGE if the ID number or a date is invalid.
 */
export function cccdAccessKeys(input: CccdKeyInput): CccdAccessKeys {
  const { idNumber, dateOfBirth, dateOfIssue, today } = input;
  decodeCccdIdNumber(idNumber);
  if (!isCalendarDate(dateOfBirth)) throw usage('date of birth does not exist', 'dateOfBirth');
  if (dateOfIssue && !isCalendarDate(dateOfIssue)) throw usage('date of issue does not exist', 'dateOfIssue');
  if (!isCalendarDate(today)) throw usage('today is not a date', 'today');
  const documentNumber = idNumber.slice(3);
  const dob = toMrzDate(dateOfBirth);
  const expiries = candidateExpiryAges(dateOfBirth, today, dateOfIssue).flatMap((age) => birthdaysAt(dateOfBirth, age));
  return {
    can: canKey(idNumber.slice(6)),
    bac: expiries.map((expiry) => mrzKey(documentNumber, dob, toMrzDate(expiry))),
  };
}

/** Today's date in the kiosk's local time zone (the card's dates are Vietnamese local dates). */
export function localToday(now = new Date()): CalendarDate {
  return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate() };
}
