import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import {
  accessKeyFromOptions,
  bacMrzInformation,
  canKey,
  cccdAccessKeys,
  decodeCccdIdNumber,
  isCalendarDate,
  isMrzDate,
  mrzKey,
  pacePassword,
  parseMrzArgument,
  validateAccessKey,
  type CalendarDate,
} from '../../src/emrtd/access/access-keys.js';
import { pacePasswordKey } from '../../src/emrtd/access/pace.js';
import { toHex } from '../../src/encoding/bytes.js';
import { mrzInformation } from '../../src/emrtd/lds/mrz.js';
import { ICAO_APPENDIX_D, ICAO_APPENDIX_G1 } from '../../src/testing/icao-9303-vectors.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
const usage: unknown = expect.objectContaining({ code: 'USAGE' });
const date = (year: number, month: number, day: number): CalendarDate => ({ year, month, day });
const expiries = (keys: { bac: { dateOfExpiry: string }[] }): string[] => keys.bac.map((k) => k.dateOfExpiry);

describe('access keys', () => {
  it('validates CAN and MRZ keys', () => {
    expect(canKey('004217')).toEqual({ kind: 'can', can: '004217' });
    for (const bad of ['04217', '0042171', '00421a', ' 004217']) expect(() => canKey(bad)).toThrow(usage);
    expect(mrzKey('l898902c<', '690806', '940623')).toEqual({ kind: 'mrz', documentNumber: 'L898902C<', dateOfBirth: '690806', dateOfExpiry: '940623' });
    expect(() => mrzKey('', '690806', '940623')).toThrow(usage);
    expect(() => mrzKey('<<<', '690806', '940623')).toThrow(usage);
    expect(() => mrzKey('L8989-02', '690806', '940623')).toThrow(usage);
    expect(() => mrzKey('L898902C', '691306', '940623')).toThrow(usage);
    expect(() => mrzKey('L898902C', '690806', '940631')).toThrow(usage);
    expect(() => validateAccessKey({ kind: 'can', can: '12' })).toThrow(usage);
  });

  it('knows which YYMMDD dates exist', () => {
    expect(isMrzDate('000229')).toBe(true);
    expect(isMrzDate('960229')).toBe(true);
    expect(isMrzDate('970229')).toBe(false);
    expect(isMrzDate('991231')).toBe(true);
    expect(isMrzDate('990431')).toBe(false);
    expect(isMrzDate('99123')).toBe(false);
    expect(isCalendarDate(date(1900, 2, 29))).toBe(false);
    expect(isCalendarDate(date(2000, 2, 29))).toBe(true);
  });

  it('parses the command-line forms --can N and --mrz DOCNO,YYMMDD,YYMMDD', () => {
    expect(accessKeyFromOptions({ can: '000123' })).toEqual({ kind: 'can', can: '000123' });
    expect(accessKeyFromOptions({ mrz: 'L898902C<,690806,940623' })).toEqual({ kind: 'mrz', documentNumber: 'L898902C<', dateOfBirth: '690806', dateOfExpiry: '940623' });
    expect(parseMrzArgument(' 093000123 , 930105 , 330105 ')).toEqual({ kind: 'mrz', documentNumber: '093000123', dateOfBirth: '930105', dateOfExpiry: '330105' });
    expect(() => accessKeyFromOptions({})).toThrow(usage);
    expect(() => accessKeyFromOptions({ can: '000123', mrz: 'L898902C<,690806,940623' })).toThrow(usage);
    expect(() => parseMrzArgument('L898902C<,690806')).toThrow(usage);
    expect(() => parseMrzArgument('L898902C<;690806;940623')).toThrow(usage);
  });

  it('decodes the 12-digit ID number (province, century/sex digit, birth year)', () => {
    expect(decodeCccdIdNumber('001093000123')).toEqual({ provinceCode: '001', sex: 'male', birthYear: 1993 });
    expect(decodeCccdIdNumber('079196004217')).toEqual({ provinceCode: '079', sex: 'female', birthYear: 1996 });
    expect(decodeCccdIdNumber('036305001122')).toEqual({ provinceCode: '036', sex: 'female', birthYear: 2005 });
    expect(() => decodeCccdIdNumber('07919600421')).toThrow(usage);
  });
});

describe('keys as the access protocols take them', () => {
  it('gives PACE the CAN as it is, and MRZ_information for an MRZ key (Appendix G.1 password key)', () => {
    expect(pacePassword(canKey('004217'))).toEqual({ kind: 'can', can: '004217' });
    const password = pacePassword(mrzKey('T22000129', '640812', '101031'));
    expect(password).toEqual({ kind: 'mrz', mrzInformation: ICAO_APPENDIX_G1.MRZ_INFORMATION });
    expect(toHex(pacePasswordKey(password))).toBe('7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD');
  });

  it('gives BAC MRZ_information (Appendix D.2), and refuses a CAN with CARD_UNSUPPORTED', () => {
    expect(bacMrzInformation(mrzKey('L898902C<', '690806', '940623'))).toBe(ICAO_APPENDIX_D.MRZ_INFORMATION);
    expect(() => bacMrzInformation(canKey('004217'))).toThrow(expect.objectContaining({ code: 'CARD_UNSUPPORTED', message: 'BAC needs MRZ data, not a CAN' }));
  });

  it('derives the same MRZ_information for PACE and BAC from any valid MRZ key', () => {
    const mrzChar = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<');
    const yymmdd = fc.date({ min: new Date('1930-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(2, 10).replaceAll('-', ''));
    const key = fc
      .tuple(fc.string({ unit: mrzChar, minLength: 1, maxLength: 22 }).filter((n) => !/^<+$/.test(n)), yymmdd, yymmdd)
      .map(([number, dob, doe]) => mrzKey(number, dob, doe));
    fc.assert(
      fc.property(key, (k) => {
        const password = pacePassword(k);
        return password.kind === 'mrz' && password.mrzInformation === bacMrzInformation(k) && password.mrzInformation === mrzInformation(k.documentNumber, k.dateOfBirth, k.dateOfExpiry);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe('CCCD access keys from ID number and date of birth', () => {
  it('derives CAN = last 6 digits and the BAC key of reference D.3', () => {
    const keys = cccdAccessKeys({ idNumber: '001093000123', dateOfBirth: date(1993, 1, 5), today: date(2025, 6, 1) });
    expect(keys.can).toEqual({ kind: 'can', can: '000123' });
    expect(keys.bac[0]).toEqual({ kind: 'mrz', documentNumber: '093000123', dateOfBirth: '930105', dateOfExpiry: '330105' });
    expect(mrzInformation(keys.bac[0]!.documentNumber, keys.bac[0]!.dateOfBirth, keys.bac[0]!.dateOfExpiry)).toBe('093000123693010543301052');
    // Next renewal at 40, then the expired card of age 25 (January 2018, before chip cards existed: dropped).
    expect(expiries(keys)).toEqual(['330105']);
  });

  it('orders the candidates: from the issue date, next renewal age, the one after in the window, the expired one', () => {
    // Persona born 14/03/1996, card issued 20/04/2021 at 25: expires at 40.
    const persona = { idNumber: '079196004217', dateOfBirth: date(1996, 3, 14) };
    expect(expiries(cccdAccessKeys({ ...persona, dateOfIssue: date(2021, 4, 20), today: date(2025, 1, 1) }))).toEqual(['360314', '210314']);
    // Without the issue date, in the window before 40 (age 38.5): 40, then 60, then the expired card of 25.
    expect(expiries(cccdAccessKeys({ ...persona, today: date(2034, 9, 1) }))).toEqual(['360314', '560314', '210314']);
    // Issued at 23.5, inside the two-year window before 25: valid until 40, although 25 is still ahead.
    const young = { idNumber: '001200004595', dateOfBirth: date(2000, 8, 20) };
    expect(expiries(cccdAccessKeys({ ...young, dateOfIssue: date(2024, 2, 1), today: date(2024, 3, 1) }))).toEqual(['400820', '250820']);
    // A child's card (Căn cước 2024) expires at 14.
    const child = { idNumber: '001215009876', dateOfBirth: date(2015, 5, 2) };
    expect(expiries(cccdAccessKeys({ ...child, dateOfIssue: date(2024, 9, 1), today: date(2025, 1, 1) }))).toEqual(['290502']);
    // Issued after 58: no expiry, so no BAC candidate (60 was reached in 2018, before chip cards); CAN still works.
    const senior = cccdAccessKeys({ idNumber: '001058001234', dateOfBirth: date(1958, 7, 9), dateOfIssue: date(2021, 8, 1), today: date(2025, 1, 1) });
    expect(expiries(senior)).toEqual([]);
    expect(senior.can.can).toBe('001234');
  });

  it('gives both neighbours for a 29 February birthday in a common year', () => {
    const keys = cccdAccessKeys({ idNumber: '001096001234', dateOfBirth: date(1996, 2, 29), dateOfIssue: date(2021, 6, 1), today: date(2025, 1, 1) });
    expect(expiries(keys)).toEqual(['360229', '210228', '210301']);
  });

  it('refuses invalid input with USAGE', () => {
    expect(() => cccdAccessKeys({ idNumber: '0010930001', dateOfBirth: date(1993, 1, 5), today: date(2025, 1, 1) })).toThrow(usage);
    expect(() => cccdAccessKeys({ idNumber: '001093000123', dateOfBirth: date(1993, 2, 30), today: date(2025, 1, 1) })).toThrow(usage);
  });

  it(`every candidate is a valid key and the CAN is the ID's last 6 digits (${FUZZ_RUNS} runs)`, () => {
    const birth = fc.date({ min: new Date('1930-01-01'), max: new Date('2024-12-31'), noInvalidDate: true });
    fc.assert(
      fc.property(birth, fc.integer({ min: 0, max: 40 * 365 }), fc.option(fc.integer({ min: 0, max: 80 * 365 }), { nil: undefined }), fc.stringMatching(/^[0-9]{6}$/), (b, ageDays, issueDays, serial) => {
        const dob = date(b.getUTCFullYear(), b.getUTCMonth() + 1, b.getUTCDate());
        const at = (days: number): CalendarDate => {
          const d = new Date(b.getTime() + days * 86_400_000);
          return date(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
        };
        const idNumber = `001${dob.year >= 2000 ? 2 : 0}${String(dob.year % 100).padStart(2, '0')}${serial}`;
        const keys = cccdAccessKeys({ idNumber, dateOfBirth: dob, dateOfIssue: issueDays === undefined ? undefined : at(issueDays), today: at(ageDays + 14 * 365) });
        expect(keys.can.can).toBe(serial);
        expect(new Set(expiries(keys)).size).toBe(keys.bac.length);
        for (const key of keys.bac) {
          expect(validateAccessKey(key)).toEqual(key);
          expect(key.documentNumber).toBe(idNumber.slice(3));
        }
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });

  it(`fuzz: the argument parsers give only USAGE errors (${FUZZ_RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 12 }), { nil: undefined }), fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), (can, mrz) => {
        try {
          accessKeyFromOptions({ can, mrz });
        } catch (err) {
          if (!isKioskError(err, 'USAGE')) throw err;
        }
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });
});
