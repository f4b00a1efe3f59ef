import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { formatMrz, mrzCheckDigit, mrzInformation, parseMrz, type MrzFields } from '../../src/emrtd/lds/mrz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;

// ICAO 9303-4 specimen passport (reference A.1) and ICAO 9303-5 specimen ID card with a 12-character number.
const TD3_SPECIMEN = ['P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<', 'L898902C<3UTO6908061F9406236ZE184226B<<<<<14'];
const TD1_SPECIMEN = ['I<UTOD23145890<7349<<<<<<<<<<<', '3407127M9507122UTO<<<<<<<<<<<2', 'STEVENSON<<PETER<JOHN<<<<<<<<<'];
// Reference D.3 structure with its synthetic ID, and a persona of our own (Trần Thị Mỹ Duyên, born 14/03/1996).
const CCCD_REFERENCE = ['IDVNM0930001236001093000123<<7', '9301054M3301052VNM<<<<<<<<<<<2', 'NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<'];
const CCCD_PERSONA = ['IDVNM1960042178079196004217<<8', '9603149F3603147VNM<<<<<<<<<<<0', 'TRAN<<THI<MY<DUYEN<<<<<<<<<<<<'];

function expectMalformed(text: string): void {
  try {
    parseMrz(text);
  } catch (err) {
    expect(isKioskError(err, 'LDS_MALFORMED')).toBe(true);
    return;
  }
  expect.fail('parseMrz accepted an invalid MRZ');
}

describe('MRZ check digit and MRZ_information', () => {
  it('computes the ICAO check digits of the reference examples', () => {
    expect(mrzCheckDigit('D23145890734')).toBe(9);
    expect(mrzCheckDigit('340712')).toBe(7);
    expect(mrzCheckDigit('950712')).toBe(2);
    expect(mrzCheckDigit('L898902C<')).toBe(3);
    expect(mrzCheckDigit('690806')).toBe(1);
    expect(mrzCheckDigit('940623')).toBe(6);
    expect(() => mrzCheckDigit('l898')).toThrow(RangeError);
  });

  it('builds MRZ_information for BAC and PACE (ICAO 9303-11 App. D.2 and G.1, reference D.3)', () => {
    expect(mrzInformation('L898902C<', '690806', '940623')).toBe('L898902C<369080619406236');
    expect(mrzInformation('L898902C', '690806', '940623')).toBe('L898902C<369080619406236');
    expect(mrzInformation('T22000129', '640812', '101031')).toBe('T22000129364081251010318');
    expect(mrzInformation('093000123', '930105', '330105')).toBe('093000123693010543301052');
    expect(mrzInformation('D23145890734', '340712', '950712')).toBe('D23145890734934071279507122');
    expect(() => mrzInformation('AB-1', '690806', '940623')).toThrow(RangeError);
    expect(() => mrzInformation('L898902C', '6908', '940623')).toThrow(RangeError);
  });
});

describe('parseMrz', () => {
  it('parses the TD3 specimen (its composite check digit is 4; some copies print the line ending in 10)', () => {
    const mrz = parseMrz(TD3_SPECIMEN.join('\n'));
    expect(mrz).toMatchObject({
      format: 'TD3',
      documentCode: 'P',
      issuingState: 'UTO',
      documentNumber: 'L898902C',
      dateOfBirth: '690806',
      sex: 'F',
      dateOfExpiry: '940623',
      nationality: 'UTO',
      primaryIdentifier: 'ERIKSSON',
      secondaryIdentifier: 'ANNA MARIA',
      optionalData1: 'ZE184226B',
      optionalData2: '',
      cccdIdNumber: undefined,
    });
    expect(formatMrz(mrz)).toBe(TD3_SPECIMEN.join(''));
  });

  it('parses the TD1 specimen with a document number continued in the optional data', () => {
    const mrz = parseMrz(TD1_SPECIMEN.join(''));
    expect(mrz).toMatchObject({ format: 'TD1', documentCode: 'I', documentNumber: 'D23145890734', optionalData1: '', sex: 'M', primaryIdentifier: 'STEVENSON', secondaryIdentifier: 'PETER JOHN' });
    expect(formatMrz(mrz)).toBe(TD1_SPECIMEN.join(''));
  });

  it('reads a CCCD TD1: 9-digit document number, the 12-digit ID in the optional data', () => {
    const reference = parseMrz(CCCD_REFERENCE.join('\r\n'));
    expect(reference).toMatchObject({ documentCode: 'ID', issuingState: 'VNM', documentNumber: '093000123', cccdIdNumber: '001093000123', dateOfExpiry: '330105' });
    const persona = parseMrz(CCCD_PERSONA.join(''));
    expect(persona).toMatchObject({
      documentNumber: '196004217',
      cccdIdNumber: '079196004217',
      dateOfBirth: '960314',
      sex: 'F',
      dateOfExpiry: '360314',
      nationality: 'VNM',
      primaryIdentifier: 'TRAN',
      secondaryIdentifier: 'THI MY DUYEN',
    });
    expect(mrzInformation(persona.documentNumber, persona.dateOfBirth, persona.dateOfExpiry)).toBe('196004217896031493603147');
    expect(formatMrz(persona)).toBe(CCCD_PERSONA.join(''));
  });

  it('refuses wrong check digits, lengths and characters', () => {
    const [l1, l2, l3] = CCCD_PERSONA as [string, string, string];
    expectMalformed([l1.slice(0, 14) + '0' + l1.slice(15), l2, l3].join('')); // document number
    expectMalformed([l1, '9603140' + l2.slice(7), l3].join('')); // date of birth
    expectMalformed([l1, l2.slice(0, 14) + '0' + l2.slice(15), l3].join('')); // date of expiry
    expectMalformed([l1, l2.slice(0, 29) + '1', l3].join('')); // composite
    const wrongIdDigit = l1.slice(0, 29) + '0';
    const composite = mrzCheckDigit(wrongIdDigit.slice(5, 30) + l2.slice(0, 7) + l2.slice(8, 15) + l2.slice(18, 29));
    expectMalformed([wrongIdDigit, l2.slice(0, 29) + composite, l3].join('')); // ID12 check digit, composite fixed up
    expectMalformed([l1, l2.slice(0, 7) + 'Q' + l2.slice(8), l3].join('')); // sex
    expectMalformed(CCCD_PERSONA.join('').slice(0, 89));
    expectMalformed(CCCD_PERSONA.join('').toLowerCase());
    expectMalformed('I'.repeat(72)); // TD2
    expectMalformed(['IDVNM<<<<<<<<<0<<<<<<<<<<<<<<<', l2, l3].join(''));
  });
});

const word = fc.stringMatching(/^[A-Z]{1,8}$/);
const words = fc.array(word, { maxLength: 3 }).map((w) => w.join(' '));
/** Optional data of at most `max` characters, not ending in a filler (built once per length: regex arbitraries are slow to create). */
const OPTIONAL = Array.from({ length: 16 }, (_, max) => (max === 0 ? fc.constant('') : fc.stringMatching(new RegExp(`^([0-9A-Z<]{0,${max - 1}}[0-9A-Z])?$`))));
const optional = (max: number): fc.Arbitrary<string> => OPTIONAL[max]!;
const date = fc.stringMatching(/^[0-9<]{6}$/);
const common = {
  documentCode: fc.stringMatching(/^[A-Z]{1,2}$/),
  issuingState: fc.stringMatching(/^[A-Z]{1,3}$/),
  nationality: fc.stringMatching(/^[A-Z]{0,3}$/),
  dateOfBirth: date,
  dateOfExpiry: date,
  sex: fc.constantFrom('M' as const, 'F' as const, 'X' as const, '<' as const),
  primaryIdentifier: words,
  secondaryIdentifier: words,
};
const fitsNames = (width: number) => (f: MrzFields): boolean => f.primaryIdentifier.length + (f.secondaryIdentifier ? f.secondaryIdentifier.length + 2 : 0) <= width;
// A VNM card whose optional data happens to look like ID12<<d with a wrong digit would rightly be refused.
const notCccdLookalike = (f: MrzFields): boolean => !(f.issuingState === 'VNM' && /^[0-9]{12}<<[0-9]$/.test(f.optionalData1));

const td1Fields: fc.Arbitrary<MrzFields> = fc
  .stringMatching(/^[0-9A-Z]{1,20}$/)
  .chain((documentNumber) =>
    fc.record({
      ...common,
      format: fc.constant('TD1' as const),
      documentNumber: fc.constant(documentNumber),
      optionalData1: documentNumber.length <= 9 ? optional(15) : optional(Math.max(1, 13 - (documentNumber.length - 9))),
      optionalData2: optional(11),
    }),
  )
  .filter((f) => fitsNames(30)(f) && notCccdLookalike(f) && (f.documentNumber.length <= 9 || f.documentNumber.length - 9 + 2 + f.optionalData1.length + (f.optionalData1 ? 1 : 0) <= 15));

const td3Fields: fc.Arbitrary<MrzFields> = fc
  .record({ ...common, format: fc.constant('TD3' as const), documentNumber: fc.stringMatching(/^[0-9A-Z]{1,9}$/), optionalData1: optional(14), optionalData2: fc.constant('') })
  .filter(fitsNames(39));

function mutate(text: string, edits: [number, string][]): string {
  const chars = [...text];
  for (const [at, c] of edits) chars[at % chars.length] = c;
  return chars.join('');
}

describe('MRZ properties', () => {
  it('parseMrz(formatMrz(x)) gives back x for TD1 and TD3 (1000 runs each)', () => {
    for (const fields of [td1Fields, td3Fields]) {
      fc.assert(
        fc.property(fields, (f) => {
          const text = formatMrz(f);
          const { lines, cccdIdNumber, ...parsed } = parseMrz(text);
          expect(parsed).toEqual(f);
          expect(lines.join('')).toBe(text);
          expect(cccdIdNumber).toBeUndefined();
        }),
        { numRuns: 1000, seed: SEED },
      );
    }
  });

  it(`fuzz: arbitrary strings and mutated valid MRZs give only LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    const onlyMalformed = (text: string): void => {
      try {
        parseMrz(text);
      } catch (err) {
        if (!isKioskError(err, 'LDS_MALFORMED')) throw err;
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 120 }), onlyMalformed), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(fc.property(fc.stringMatching(/^[0-9A-Z<]{88,90}$/), onlyMalformed), { numRuns: FUZZ_RUNS, seed: SEED });
    const valid = fc.constantFrom(TD3_SPECIMEN.join(''), TD1_SPECIMEN.join(''), CCCD_REFERENCE.join(''), CCCD_PERSONA.join(''));
    const edits = fc.array(fc.tuple(fc.nat(), fc.constantFrom('<', '0', '9', 'A', 'Z', 'a', '\u00e9', '\n')), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(valid, edits, fc.nat({ max: 100 }), (text, e, cut) => {
        onlyMalformed(mutate(text, e));
        onlyMalformed(text.slice(0, cut));
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });
});
