import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, toHex } from '../../src/encoding/bytes.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { encodeDg13, parseDg13, type Dg13Fields, type ParentsEncoding } from '../../src/emrtd/lds/dg13.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 3000;

// A synthetic persona (invented name, numbers and address).
const PERSONA = {
  idNumber: '079196004217',
  fullName: 'Trần Thị Mỹ Duyên',
  dateOfBirth: '14/03/1996',
  sex: 'Nữ',
  nationality: 'Việt Nam',
  ethnicity: 'Kinh',
  religion: 'Không',
  placeOfOrigin: 'Xã Tân Phước, Huyện Gò Công Đông, Tiền Giang',
  placeOfResidence: 'Số 47/12 Hẻm 218 Đường Lê Văn Sỹ, Tổ dân phố 5, Khu phố 3, Phường 14, Quận 3, Thành phố Hồ Chí Minh',
  identificationMarks: 'Nốt ruồi C:1cm trên trước đầu mày phải',
  dateOfIssue: '20/04/2021',
  dateOfExpiry: '14/03/2036',
  fatherName: 'Trần Văn Hùng',
  motherName: 'Lê Thị Thu Hằng',
  spouseName: undefined,
  oldIdNumber: '312456789',
  unknown16: '3F7A0C19B2E4D851',
} satisfies Dg13Fields;

const utf8 = (s: string): Uint8Array => encodeTlv(0x0c, new TextEncoder().encode(s));
const printable = (s: string): Uint8Array => encodeTlv(0x13, new TextEncoder().encode(s));
const seq = (...values: Uint8Array[]): Uint8Array => encodeTlv(0x30, ...values);
const field = (n: number, ...values: Uint8Array[]): Uint8Array => seq(Uint8Array.of(0x02, 0x01, n), ...values);
const dg13 = (...fields: Uint8Array[]): Uint8Array =>
  encodeTlv(0x6d, seq(Uint8Array.of(0x02, 0x01, 0x01), Uint8Array.of(0x06, 0x06, 0x28, 0xd3, 0x16, 0x01, 0x00, 0x08), encodeTlv(0x31, ...fields)));

/** The persona's fields as the card lays them out, with field 13 in the given encoding and 14 as given. */
function personaFields(parents: Uint8Array, spouse: Uint8Array): Uint8Array[] {
  return [
    field(1, printable(PERSONA.idNumber)),
    field(2, utf8(PERSONA.fullName)),
    field(3, printable(PERSONA.dateOfBirth)),
    field(4, utf8(PERSONA.sex)),
    field(5, utf8(PERSONA.nationality)),
    field(6, utf8(PERSONA.ethnicity)),
    field(7, utf8(PERSONA.religion)),
    field(8, utf8(PERSONA.placeOfOrigin)),
    field(9, utf8(PERSONA.placeOfResidence)),
    field(10, utf8(PERSONA.identificationMarks)),
    field(11, printable(PERSONA.dateOfIssue)),
    field(12, utf8(PERSONA.dateOfExpiry)),
    parents,
    spouse,
    field(15, printable(PERSONA.oldIdNumber)),
    field(16, printable(PERSONA.unknown16)),
  ];
}
const SEPARATE_PARENTS = field(13, seq(utf8(PERSONA.fatherName)), seq(utf8(PERSONA.motherName)));
const COMBINED_PARENTS = field(13, seq(utf8(PERSONA.fatherName), utf8(PERSONA.motherName)));
const NO_SPOUSE = field(14);

const onlyTypedErrors = typedErrorsOnly(parseDg13);

const mutation = mutationsOf;

describe('DG13 (CCCD personal data)', () => {
  it('reads every field by number, UTF-8 intact, parents as two SEQUENCEs, spouse empty', () => {
    const parsed = parseDg13(dg13(...personaFields(SEPARATE_PARENTS, NO_SPOUSE)));
    expect(parsed).toEqual({ ...PERSONA, version: 1, parentsEncoding: 'separate', otherFields: [] });
    expect(parsed.spouseName).toBeUndefined();
  });

  it('reads the parents as one SEQUENCE of two names, and a spouse', () => {
    const spouse = field(14, seq(utf8('Phạm Quốc Bảo')));
    const parsed = parseDg13(dg13(...personaFields(COMBINED_PARENTS, spouse)));
    expect(parsed).toMatchObject({ fatherName: 'Trần Văn Hùng', motherName: 'Lê Thị Thu Hằng', parentsEncoding: 'combined', spouseName: 'Phạm Quốc Bảo' });
  });

  it('does not depend on field order or presence, and keeps unknown fields raw', () => {
    const fields = personaFields(SEPARATE_PARENTS, NO_SPOUSE);
    const other = field(17, printable('A1'), seq(Uint8Array.of(0x05, 0x00)));
    const shuffled = [other, ...fields.slice(8), ...fields.slice(1, 7)].reverse();
    const parsed = parseDg13(dg13(...shuffled));
    expect(parsed).toMatchObject({ fullName: PERSONA.fullName, placeOfResidence: PERSONA.placeOfResidence, motherName: PERSONA.motherName, unknown16: PERSONA.unknown16 });
    expect(parsed.idNumber).toBeUndefined();
    expect(parsed.placeOfOrigin).toBeUndefined();
    expect(parsed.otherFields).toEqual([{ number: 17, value: concatBytes(printable('A1'), seq(Uint8Array.of(0x05, 0x00))) }]);
  });

  it('encodes the real card layout byte for byte, with long-form lengths', () => {
    const bytes = encodeDg13(PERSONA);
    expect(bytes).toEqual(dg13(...personaFields(SEPARATE_PARENTS, NO_SPOUSE)));
    expect(new TextEncoder().encode(PERSONA.placeOfResidence).length).toBeGreaterThan(127);
    // 6D 82 LL LL, 30 82 LL LL, 02 01 01, 06 06 <OID>, 31 82 LL LL: 23 header bytes, so field 1's value is at 30.
    expect(toHex(bytes.subarray(0, 2))).toBe('6D82');
    expect(toHex(bytes.subarray(4, 6))).toBe('3082');
    expect(toHex(bytes.subarray(8, 21))).toBe('020101060628D3160100083182');
    expect(toHex(bytes.subarray(23, 30))).toBe('3011020101130C');
    expect(new TextDecoder().decode(bytes.subarray(30, 42))).toBe(PERSONA.idNumber);
    expect(encodeDg13(PERSONA, { parentsEncoding: 'combined' })).toEqual(dg13(...personaFields(COMBINED_PARENTS, NO_SPOUSE)));
  });

  it('refuses duplicates, non-strings, invalid UTF-8 and odd parents fields', () => {
    const malformed: unknown = expect.objectContaining({ code: 'LDS_MALFORMED' });
    expect(() => parseDg13(dg13(field(2, utf8('A')), field(2, utf8('B'))))).toThrow(malformed);
    expect(() => parseDg13(dg13(field(2, Uint8Array.of(0x04, 0x01, 0x41))))).toThrow(malformed);
    expect(() => parseDg13(dg13(field(2, encodeTlv(0x0c, Uint8Array.of(0xc3, 0x28)))))).toThrow(malformed);
    expect(() => parseDg13(dg13(field(2, utf8('A'), utf8('B'))))).toThrow(malformed);
    expect(() => parseDg13(dg13(field(13, seq(utf8('A')), seq(utf8('B')), seq(utf8('C')))))).toThrow(malformed);
    expect(() => parseDg13(dg13(seq()))).toThrow(malformed);
    expect(() => parseDg13(dg13(encodeTlv(0x31)))).toThrow(malformed);
    expect(() => parseDg13(encodeTlv(0x6d, seq(Uint8Array.of(0x02, 0x01, 0x01), encodeTlv(0x31))))).toThrow(malformed);
    expect(() => parseDg13(encodeTlv(0x6e, seq()))).toThrow(malformed);
  });

  it('encoder refuses what the card cannot carry', () => {
    expect(() => encodeDg13({ idNumber: 'số' })).toThrow(RangeError);
    expect(() => encodeDg13({ fullName: 'A\ud800' })).toThrow(RangeError);
    expect(() => encodeDg13({ otherFields: [{ number: 9, value: new Uint8Array(0) }] })).toThrow(RangeError);
    expect(() => encodeDg13({ otherFields: [{ number: 20, value: Uint8Array.of(0x04) }] })).toThrow(RangeError);
  });
});

const text = fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 160 }), { nil: undefined });
const printableText = fc.option(fc.stringMatching(/^[0-9A-Za-z/ ]{1,20}$/), { nil: undefined });
const otherField = fc.record({
  number: fc.oneof(fc.constant(0), fc.integer({ min: 17, max: 100_000 })),
  value: fc.array(fc.uint8Array({ maxLength: 20 }).map((v) => encodeTlv(0x04, v)), { maxLength: 3 }).map((tlvs) => concatBytes(...tlvs)),
});
const dg13Fields: fc.Arbitrary<Dg13Fields> = fc.record({
  idNumber: printableText,
  fullName: text,
  dateOfBirth: printableText,
  sex: text,
  nationality: text,
  ethnicity: text,
  religion: text,
  placeOfOrigin: text,
  placeOfResidence: text,
  identificationMarks: text,
  dateOfIssue: printableText,
  dateOfExpiry: text,
  fatherName: text,
  motherName: text,
  spouseName: text,
  oldIdNumber: printableText,
  unknown16: printableText,
  otherFields: fc.uniqueArray(otherField, { selector: (f) => f.number, maxLength: 3 }),
});

describe('DG13 properties', () => {
  it('parseDg13(encodeDg13(x, encoding)) gives back x (1500 runs)', () => {
    fc.assert(
      fc.property(dg13Fields, fc.constantFrom<ParentsEncoding>('separate', 'combined'), (fields, parentsEncoding) => {
        const { version, parentsEncoding: found, otherFields, ...parsed } = parseDg13(encodeDg13(fields, { parentsEncoding }));
        const { otherFields: expectedOthers = [], ...expected } = fields;
        expect(parsed).toEqual(expected);
        expect([...otherFields].sort((a, b) => a.number - b.number)).toEqual([...expectedOthers].sort((a, b) => a.number - b.number));
        expect(version).toBe(1);
        expect(found).toBe(parentsEncoding);
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated DG13 files give only TLV_MALFORMED / LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    const valid = [encodeDg13(PERSONA), encodeDg13(PERSONA, { parentsEncoding: 'combined' }), dg13(...personaFields(COMBINED_PARENTS, field(14, seq(utf8('Phạm Quốc Bảo')))))];
    fc.assert(fc.property(fc.constantFrom(...valid).chain(mutation), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(
      fc.property(dg13Fields, fc.nat(), (fields, cut) => {
        const bytes = encodeDg13(fields);
        onlyTypedErrors(bytes.subarray(0, cut % bytes.length));
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });
});
