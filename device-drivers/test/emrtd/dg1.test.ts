import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { encodeDg1, parseDg1 } from '../../src/emrtd/lds/dg1.js';
import { formatMrz, mrzCheckDigit, parseMrz, type MrzFields } from '../../src/emrtd/lds/mrz.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
// Synthetic persona: Trần Thị Mỹ Duyên, ID 079196004217, born 14/03/1996, card expiring at 40.
const PERSONA_MRZ = 'IDVNM1960042178079196004217<<89603149F3603147VNM<<<<<<<<<<<0TRAN<<THI<MY<DUYEN<<<<<<<<<<<<';

const onlyTypedErrors = typedErrorsOnly(parseDg1);

const mutation = mutationsOf;

/** A CCCD MRZ for an arbitrary persona: ID12 from the century/sex digit and birth year, expiry at a renewal age. */
const cccdMrz: fc.Arbitrary<MrzFields> = fc
  .record({
    province: fc.integer({ min: 1, max: 96 }),
    female: fc.boolean(),
    birth: fc.date({ min: new Date('1930-01-01'), max: new Date('2012-12-31'), noInvalidDate: true }),
    serial: fc.integer({ min: 0, max: 999_999 }),
    age: fc.constantFrom(25, 40, 60),
    surname: fc.constantFrom('NGUYEN', 'TRAN', 'LE', 'PHAM', 'HOANG', 'VO', 'DANG'),
    given: fc.constantFrom('VAN AN', 'THI BICH NGOC', 'MINH KHOA', 'THU HA', 'QUOC BAO'),
  })
  .map(({ province, female, birth, serial, age, surname, given }) => {
    const year = birth.getUTCFullYear();
    const yymmdd = (y: number): string => `${String(y % 100).padStart(2, '0')}${String(birth.getUTCMonth() + 1).padStart(2, '0')}${String(birth.getUTCDate()).padStart(2, '0')}`;
    const centurySex = (year >= 2000 ? 2 : 0) + (female ? 1 : 0);
    const id = `${String(province).padStart(3, '0')}${centurySex}${String(year % 100).padStart(2, '0')}${String(serial).padStart(6, '0')}`;
    return { id, dob: yymmdd(year), doe: yymmdd(year + age), female, surname, given };
  })
  .map(({ id, dob, doe, female, surname, given }) => ({
    format: 'TD1' as const,
    documentCode: 'ID',
    issuingState: 'VNM',
    documentNumber: id.slice(3),
    optionalData1: `${id}<<${mrzCheckDigit(id)}`,
    dateOfBirth: dob,
    sex: female ? ('F' as const) : ('M' as const),
    dateOfExpiry: doe,
    nationality: 'VNM',
    optionalData2: '',
    primaryIdentifier: surname,
    secondaryIdentifier: given,
  }));

describe('DG1', () => {
  it('wraps the MRZ as 61 { 5F1F } and reads it back', () => {
    const dg1 = encodeDg1(PERSONA_MRZ);
    expect(toHex(dg1.subarray(0, 5))).toBe('615D5F1F5A');
    const mrz = parseDg1(dg1);
    expect(mrz).toMatchObject({ format: 'TD1', documentNumber: '196004217', cccdIdNumber: '079196004217', dateOfBirth: '960314', dateOfExpiry: '360314' });
  });

  it('refuses other templates, extra objects and invalid MRZs', () => {
    const malformed: unknown = expect.objectContaining({ code: 'LDS_MALFORMED' });
    const value = toHex(new TextEncoder().encode(PERSONA_MRZ));
    expect(() => parseDg1(fromHex(`615D5F1E5A${value}`))).toThrow(malformed);
    expect(() => parseDg1(fromHex(`615F5F1F5A${value}0100`))).toThrow(malformed);
    expect(() => parseDg1(fromHex(`615D5F1F5A${value.slice(0, -2)}31`))).toThrow(malformed); // a digit in the name
    expect(() => encodeDg1('P<UTO')).toThrow(malformed);
  });

  it('parseDg1(encodeDg1(mrz)) gives back the MRZ of arbitrary CCCD personas (2000 runs)', () => {
    fc.assert(
      fc.property(cccdMrz, (fields) => {
        const text = formatMrz(fields);
        const parsed = parseDg1(encodeDg1(text));
        expect(parsed).toEqual(parseMrz(text));
        expect(parsed.cccdIdNumber).toBe(fields.optionalData1.slice(0, 12));
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated DG1 files give only TLV_MALFORMED / LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 110 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(fc.property(mutation(encodeDg1(PERSONA_MRZ)), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
  });
});
