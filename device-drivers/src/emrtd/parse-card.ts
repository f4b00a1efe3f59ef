import { KioskError, isKioskError } from '@kiosk/common';
import { parseCom, type EfCom } from './lds/com.js';
import { parseDg1 } from './lds/dg1.js';
import { parseDg13, type Dg13 } from './lds/dg13.js';
import { parseDg15, type ActiveAuthenticationKey } from './lds/dg15.js';
import { parseDg2, type FaceImage } from './lds/dg2.js';
import type { MrzData } from './lds/mrz.js';
import { parseSecurityInfos } from './lds/security-infos.js';
import type { LdsFileName, RawCardRead } from './read-card-files.js';
import type { SecurityInfo } from './security-infos-types.js';

/**
 * The typed result of a card read: holder data in Vietnamese (DG13, UTF-8 intact) with the MRZ beside it, the face
 * image(s), the security infos, and the raw files. A file that does not parse is reported in `problems` and kept
 * raw, so a malformed or forged card loses nothing and the verifier can still look at it.
 */
export interface CardRead {
  access: RawCardRead['access'];
  files: Map<LdsFileName, Uint8Array>;
  skipped: RawCardRead['skipped'];
  com: EfCom | undefined;
  mrz: MrzData | undefined;
  /** DG13: the Vietnamese personal data. */
  personal: Dg13 | undefined;
  faces: FaceImage[];
  cardAccess: SecurityInfo[];
  dg14: SecurityInfo[];
  activeAuthenticationKey: ActiveAuthenticationKey | undefined;
  problems: Array<{ file: LdsFileName; code: string; message: string }>;
  /** Departures from ICAO 9303 the chip showed and the read tolerated (the read's list, shared). */
  deviations: RawCardRead['deviations'];
}

/** The holder as a kiosk shows and records it: DG13 first (full Vietnamese), the MRZ where DG13 lacks a field. */
export interface Holder {
  idNumber: string | undefined;
  fullName: string | undefined;
  dateOfBirth: string | undefined;
  sex: string | undefined;
  nationality: string | undefined;
  ethnicity: string | undefined;
  religion: string | undefined;
  placeOfOrigin: string | undefined;
  placeOfResidence: string | undefined;
  identificationMarks: string | undefined;
  dateOfIssue: string | undefined;
  dateOfExpiry: string | undefined;
  fatherName: string | undefined;
  motherName: string | undefined;
  spouseName: string | undefined;
  oldIdNumber: string | undefined;
}

function attempt<T>(read: CardRead, file: LdsFileName, parse: (bytes: Uint8Array) => T): T | undefined {
  const bytes = read.files.get(file);
  if (!bytes) return undefined;
  try {
    return parse(bytes);
  } catch (err) {
    if (!isKioskError(err)) throw err;
    read.problems.push({ file, code: err.code, message: err.message });
    return undefined;
  }
}

export function parseCardRead(raw: RawCardRead): CardRead {
  const read: CardRead = {
    access: raw.access,
    files: raw.files,
    skipped: raw.skipped,
    com: undefined,
    mrz: undefined,
    personal: undefined,
    faces: [],
    cardAccess: [],
    dg14: [],
    activeAuthenticationKey: undefined,
    problems: [],
    deviations: raw.deviations,
  };
  read.com = attempt(read, 'EF.COM', parseCom);
  read.mrz = attempt(read, 'DG1', parseDg1);
  read.personal = attempt(read, 'DG13', parseDg13);
  read.faces = attempt(read, 'DG2', parseDg2) ?? [];
  read.cardAccess = attempt(read, 'EF.CardAccess', parseSecurityInfos) ?? [];
  read.dg14 = attempt(read, 'DG14', parseSecurityInfos) ?? [];
  read.activeAuthenticationKey = attempt(read, 'DG15', parseDg15);
  return read;
}

/** DD/MM/YYYY from an MRZ YYMMDD, with the century chosen so that a birth date is not in the future. */
function mrzBirthDate(yymmdd: string, today = new Date()): string | undefined {
  if (!/^[0-9]{6}$/.test(yymmdd)) return undefined;
  const yy = Number(yymmdd.slice(0, 2));
  const century = 2000 + yy > today.getFullYear() ? 1900 : 2000;
  return `${yymmdd.slice(4, 6)}/${yymmdd.slice(2, 4)}/${century + yy}`;
}

export function holderOf(read: CardRead): Holder {
  const p = read.personal;
  const mrz = read.mrz;
  const mrzName = mrz ? [mrz.primaryIdentifier, mrz.secondaryIdentifier].filter(Boolean).join(' ') : undefined;
  const mrzSex = mrz?.sex === 'M' ? 'Nam' : mrz?.sex === 'F' ? 'Nữ' : undefined;
  return {
    idNumber: p?.idNumber ?? mrz?.cccdIdNumber,
    fullName: p?.fullName ?? mrzName,
    dateOfBirth: p?.dateOfBirth ?? (mrz ? mrzBirthDate(mrz.dateOfBirth) : undefined),
    sex: p?.sex ?? mrzSex,
    nationality: p?.nationality,
    ethnicity: p?.ethnicity,
    religion: p?.religion,
    placeOfOrigin: p?.placeOfOrigin,
    placeOfResidence: p?.placeOfResidence,
    identificationMarks: p?.identificationMarks,
    dateOfIssue: p?.dateOfIssue,
    dateOfExpiry: p?.dateOfExpiry,
    fatherName: p?.fatherName,
    motherName: p?.motherName,
    spouseName: p?.spouseName,
    oldIdNumber: p?.oldIdNumber,
  };
}

/** Refuses a read whose identity files did not parse: nothing about the holder can be trusted then. */
export function assertHolderReadable(read: CardRead): void {
  const fatal = read.problems.filter((p) => p.file === 'DG1' || p.file === 'DG13');
  if (fatal.length > 0) {
    throw new KioskError('LDS_MALFORMED', fatal.map((p) => p.message).join('; '), { details: { files: fatal.map((p) => p.file) } });
  }
}
