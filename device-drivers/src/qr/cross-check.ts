import type { CalendarDate } from '../emrtd/access/access-keys.js';
import type { Dg13Fields } from '../emrtd/lds/dg13.js';
import type { CccdQr } from './cccd-qr.js';

export const CROSS_CHECK_FIELDS = ['idNumber', 'fullName', 'dateOfBirth', 'sex', 'oldIdNumber', 'placeOfResidence', 'dateOfIssue'] as const;
export type CrossCheckField = (typeof CROSS_CHECK_FIELDS)[number];

/**
 * 'match' also covers a field both sides leave empty (no old ID); 'missing-in-qr' / 'missing-on-chip' when one side
 * has no value (a QR cut short, an older DG13); 'unreadable-on-chip' when the chip's value is not in its format.
 */
export type FieldStatus = 'match' | 'mismatch' | 'missing-in-qr' | 'missing-on-chip' | 'unreadable-on-chip';

export interface FieldComparison {
  field: CrossCheckField;
  status: FieldStatus;
}

/** Field by field, without the values: the caller holds both and the result may be logged. */
export interface CrossCheckResult {
  /** No field mismatches (fields missing on one side are reported but are not contradictions). */
  consistent: boolean;
  fields: FieldComparison[];
  mismatches: CrossCheckField[];
}

/** NFC, runs of whitespace as one space, trimmed, case-folded (Vietnamese rules): how a name or address compares. */
function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLocaleLowerCase('vi');
}

/** The chip's "dd/mm/yyyy" as a date, or undefined when it is not one. */
function chipDate(text: string): CalendarDate | undefined {
  const match = /^([0-9]{2})\/([0-9]{2})\/([0-9]{4})$/.exec(text.trim());
  return match ? { day: Number(match[1]), month: Number(match[2]), year: Number(match[3]) } : undefined;
}

function chipSex(text: string): 'male' | 'female' | undefined {
  const value = normalizeText(text);
  return value === 'nam' ? 'male' : value === 'nữ' ? 'female' : undefined;
}

function compare<T>(qr: T | undefined, chipText: string | undefined, read: (chip: string) => T | undefined, same: (a: T, b: T) => boolean): FieldStatus {
  const chipPresent = chipText !== undefined && chipText.trim() !== '';
  if (qr === undefined) return chipPresent ? 'missing-in-qr' : 'match';
  if (!chipPresent) return 'missing-on-chip';
  const chip = read(chipText);
  if (chip === undefined) return 'unreadable-on-chip';
  return same(qr, chip) ? 'match' : 'mismatch';
}

const sameDate = (a: CalendarDate, b: CalendarDate): boolean => a.day === b.day && a.month === b.month && a.year === b.year;
const text = (chip: string): string => normalizeText(chip);
const sameText = (a: string, b: string): boolean => normalizeText(a) === b;
const digits = (chip: string): string => chip.trim();
const same = <T>(a: T, b: T): boolean => a === b;

/**
 * Compares what the (unsigned) QR says with the chip's DG13 (which passive authentication can prove). A kiosk
 * trusts the chip; a mismatch means the QR belongs to another card or was altered, and the flow should say so.
 */
export function crossCheckQrWithDg13(qr: CccdQr, dg13: Dg13Fields): CrossCheckResult {
  const statuses: Record<CrossCheckField, FieldStatus> = {
    idNumber: compare(qr.idNumber, dg13.idNumber, digits, same),
    fullName: compare(qr.fullName, dg13.fullName, text, sameText),
    dateOfBirth: compare(qr.dateOfBirth, dg13.dateOfBirth, chipDate, sameDate),
    sex: compare(qr.sex, dg13.sex, chipSex, same),
    oldIdNumber: compare(qr.oldIdNumber, dg13.oldIdNumber, digits, same),
    placeOfResidence: compare(qr.placeOfResidence, dg13.placeOfResidence, text, sameText),
    dateOfIssue: compare(qr.dateOfIssue, dg13.dateOfIssue, chipDate, sameDate),
  };
  const fields = CROSS_CHECK_FIELDS.map((field) => ({ field, status: statuses[field] }));
  const mismatches = fields.filter((f) => f.status === 'mismatch').map((f) => f.field);
  return { consistent: mismatches.length === 0, fields, mismatches };
}
