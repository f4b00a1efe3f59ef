import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { parseCccdQr, parseIdQr, type CccdQrProblem } from '../../src/qr/cccd-qr.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
const TODAY = { year: 2025, month: 1, day: 15 };
// Synthetic persona (invented name, numbers and address).
const PERSONA_QR = '079196004217|312456789|Trần Thị Mỹ Duyên|14031996|Nữ|Số 47/12 Hẻm 218 Đường Lê Văn Sỹ, Phường 14, Quận 3, TP. Hồ Chí Minh|20042021';

function problemOf(text: string): CccdQrProblem | undefined {
  try {
    parseCccdQr(text, { today: TODAY });
  } catch (err) {
    if (isKioskError(err, 'QR_FORMAT_INVALID')) return err.details?.problem as CccdQrProblem;
    throw err;
  }
  return undefined;
}

describe('CCCD QR', () => {
  it('parses the 7-field QR of the chip card, unsigned, with the access keys', () => {
    const qr = parseCccdQr(PERSONA_QR, { today: TODAY });
    expect(qr).toEqual({
      kind: 'cccd',
      signed: false,
      idNumber: '079196004217',
      oldIdNumber: '312456789',
      fullName: 'Trần Thị Mỹ Duyên',
      dateOfBirth: { year: 1996, month: 3, day: 14 },
      sex: 'female',
      placeOfResidence: 'Số 47/12 Hẻm 218 Đường Lê Văn Sỹ, Phường 14, Quận 3, TP. Hồ Chí Minh',
      dateOfIssue: { year: 2021, month: 4, day: 20 },
      extraFields: [],
      accessKeys: {
        can: { kind: 'can', can: '004217' },
        bac: [
          { kind: 'mrz', documentNumber: '196004217', dateOfBirth: '960314', dateOfExpiry: '360314' },
          { kind: 'mrz', documentNumber: '196004217', dateOfBirth: '960314', dateOfExpiry: '210314' },
        ],
      },
    });
  });

  it('normalises to NFC, trims, and tolerates a BOM, an empty old ID, missing and extra trailing fields', () => {
    const decomposed = `\uFEFF  ${PERSONA_QR.replace('|Nữ|', '| NỮ |').normalize('NFD')}|  \n`;
    const qr = parseCccdQr(decomposed, { today: TODAY });
    expect(qr.fullName).toBe('Trần Thị Mỹ Duyên');
    expect(qr.fullName).toBe(qr.fullName.normalize('NFC'));
    expect(qr.sex).toBe('female');
    expect(qr.extraFields).toEqual([]);
    const short = parseCccdQr('001093000123||Nguyễn Văn An|05011993', { today: TODAY });
    expect(short).toMatchObject({ oldIdNumber: undefined, sex: undefined, placeOfResidence: undefined, dateOfIssue: undefined });
    expect(short.accessKeys.bac[0]?.dateOfExpiry).toBe('330105');
    expect(parseCccdQr(`${PERSONA_QR}|14032036|x`, { today: TODAY }).extraFields).toEqual(['14032036', 'x']);
  });

  it('names each problem', () => {
    const [id, old, name, dob, sex, address, issue] = PERSONA_QR.split('|') as [string, string, string, string, string, string, string];
    const qr = (...fields: string[]): string => fields.join('|');
    expect(problemOf('https://example.vn/pay?id=1')).toBe('not-cccd');
    expect(problemOf(qr(id, old, name))).toBe('missing-fields');
    expect(problemOf(qr(id, '31245678', name, dob))).toBe('old-id-number');
    expect(problemOf(qr(id, old, '', dob, sex))).toBe('full-name');
    expect(problemOf(qr(id, old, name, '31021996'))).toBe('date-of-birth');
    expect(problemOf(qr(id, old, name, '1996-03-14'))).toBe('date-of-birth');
    expect(problemOf(qr(id, old, name, dob, 'Female'))).toBe('sex');
    expect(problemOf(qr(id, old, name, dob, sex, address, '29022021'))).toBe('date-of-issue');
    expect(problemOf(qr(id, old, name, '14032096'))).toBe('century-mismatch');
    expect(problemOf(qr(id, old, name, '14031997'))).toBe('birth-year-mismatch');
    expect(problemOf(qr(id, old, name, dob, 'Nam'))).toBe('sex-mismatch');
    expect(problemOf(qr(id, old, name, dob, sex, address, '01011990'))).toBe('issue-before-birth');
    expect(problemOf(qr(id, old, name, dob, sex, address, issue))).toBeUndefined();
  });

  it('never puts the personal data into the error', () => {
    try {
      parseCccdQr('079196004217|312456789|Trần Thị Mỹ Duyên|14031997|Nữ', { today: TODAY });
      expect.fail('accepted');
    } catch (err) {
      expect(JSON.stringify(err)).not.toMatch(/Duyên|079196004217|1997/);
      expect(String(err)).not.toMatch(/Duyên|079196004217|1997/);
    }
  });

  it('parseIdQr tells CCCD, invalid CCCD and unknown text apart', () => {
    expect(parseIdQr(PERSONA_QR, { today: TODAY }).kind).toBe('cccd');
    const invalid = parseIdQr(PERSONA_QR.replace('14031996', '14031997'), { today: TODAY });
    expect(invalid.kind).toBe('invalid-cccd');
    if (invalid.kind === 'invalid-cccd') expect(invalid.error.details).toEqual({ problem: 'birth-year-mismatch' });
    expect(parseIdQr('00020101021238570010A000000727', { today: TODAY })).toEqual({ kind: 'unknown', signed: false, text: '00020101021238570010A000000727' });
    expect(parseIdQr('079196004217', { today: TODAY }).kind).toBe('unknown');
    expect(parseIdQr('', { today: TODAY }).kind).toBe('unknown');
  });
});

const SURNAMES = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Võ', 'Đặng', 'Bùi', 'Đỗ'];
const MIDDLE = ['Văn', 'Thị', 'Hữu', 'Minh', 'Ngọc', 'Quốc', 'Thanh'];
const GIVEN = ['An', 'Bình', 'Chi', 'Dũng', 'Hằng', 'Khoa', 'Lan', 'Phúc', 'Quyên', 'Tuấn', 'Yến'];
const persona = fc
  .record({
    province: fc.integer({ min: 1, max: 96 }),
    female: fc.boolean(),
    birth: fc.date({ min: new Date('1935-01-01'), max: new Date('2010-12-31'), noInvalidDate: true }),
    serial: fc.stringMatching(/^[0-9]{6}$/),
    old: fc.option(fc.stringMatching(/^[0-9]{9}$/), { nil: undefined }),
    name: fc.tuple(fc.constantFrom(...SURNAMES), fc.constantFrom(...MIDDLE), fc.constantFrom(...GIVEN)).map((n) => n.join(' ')),
    address: fc.option(fc.constantFrom('Thôn Phú Mỹ, Xã Hòa Phong, Huyện Hòa Vang, Đà Nẵng', 'Số 5 Ngõ 12 Phố Huế, Hai Bà Trưng, Hà Nội'), { nil: undefined }),
    issueAfterDays: fc.option(fc.integer({ min: 14 * 365, max: 80 * 365 }), { nil: undefined }),
  })
  .map((p) => {
    const y = p.birth.getUTCFullYear();
    const dob = { year: y, month: p.birth.getUTCMonth() + 1, day: p.birth.getUTCDate() };
    const issueDate = p.issueAfterDays === undefined ? undefined : new Date(p.birth.getTime() + p.issueAfterDays * 86_400_000);
    const issue = issueDate && { year: issueDate.getUTCFullYear(), month: issueDate.getUTCMonth() + 1, day: issueDate.getUTCDate() };
    const idNumber = `${String(p.province).padStart(3, '0')}${(y >= 2000 ? 2 : 0) + (p.female ? 1 : 0)}${String(y % 100).padStart(2, '0')}${p.serial}`;
    return { ...p, dob, issue, idNumber };
  });
const ddmmyyyy = (d: { year: number; month: number; day: number }): string => `${String(d.day).padStart(2, '0')}${String(d.month).padStart(2, '0')}${d.year}`;

describe('CCCD QR properties', () => {
  it('parses what a card would print for arbitrary personas (2000 runs)', () => {
    fc.assert(
      fc.property(persona, (p) => {
        const text = [p.idNumber, p.old ?? '', p.name, ddmmyyyy(p.dob), p.female ? 'Nữ' : 'Nam', p.address ?? '', p.issue ? ddmmyyyy(p.issue) : ''].join('|');
        const qr = parseCccdQr(text.normalize('NFD'), { today: TODAY });
        expect(qr).toMatchObject({ idNumber: p.idNumber, oldIdNumber: p.old, fullName: p.name, dateOfBirth: p.dob, sex: p.female ? 'female' : 'male', placeOfResidence: p.address, dateOfIssue: p.issue });
        expect(qr.accessKeys.can.can).toBe(p.idNumber.slice(6));
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated texts: parseIdQr never throws, parseCccdQr throws only USAGE (${FUZZ_RUNS} runs each)`, () => {
    const check = (text: string): void => {
      expect(['cccd', 'invalid-cccd', 'unknown']).toContain(parseIdQr(text, { today: TODAY }).kind);
      try {
        parseCccdQr(text, { today: TODAY });
      } catch (err) {
        if (!isKioskError(err, 'QR_FORMAT_INVALID')) throw err;
      }
    };
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: FUZZ_RUNS, seed: SEED });
    const edits = fc.array(fc.tuple(fc.nat(), fc.constantFrom('|', '0', '9', ' ', 'ữ', '\u0303', '\uFEFF', '\n', '')), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(edits, fc.nat(), (e, cut) => {
        const chars = [...PERSONA_QR];
        for (const [at, c] of e) chars[at % chars.length] = c;
        check(chars.join(''));
        check(PERSONA_QR.slice(0, cut % PERSONA_QR.length));
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });
});
