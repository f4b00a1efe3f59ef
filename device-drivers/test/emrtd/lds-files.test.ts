import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { fromHex } from '../../src/encoding/bytes.js';
import { decodeTlv } from '../../src/encoding/tlv.js';
import {
  DATA_GROUPS,
  EF_CARD_ACCESS,
  EF_COM,
  EF_SOD,
  LDS_FILES,
  dataGroupByTag,
  dataGroupFile,
  decodeSmallUnsigned,
  encodeSmallUnsigned,
  unwrapLdsFile,
  wrapLdsFile,
} from '../../src/emrtd/lds/files.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;

describe('LDS file table', () => {
  it('has the ICAO file ids, SFIs and tags', () => {
    expect(EF_CARD_ACCESS).toMatchObject({ name: 'EF.CardAccess', fileId: 0x011c, sfi: 0x1c, tag: undefined });
    expect(EF_COM).toMatchObject({ name: 'EF.COM', fileId: 0x011e, sfi: 0x1e, tag: 0x60 });
    expect(EF_SOD).toMatchObject({ name: 'EF.SOD', fileId: 0x011d, sfi: 0x1d, tag: 0x77 });
    expect(DATA_GROUPS).toHaveLength(16);
    expect(dataGroupFile(1)).toMatchObject({ name: 'DG1', fileId: 0x0101, sfi: 1, tag: 0x61, dataGroup: 1 });
    expect(dataGroupFile(2)).toMatchObject({ fileId: 0x0102, tag: 0x75 });
    expect(dataGroupFile(13)).toMatchObject({ name: 'DG13', fileId: 0x010d, sfi: 13, tag: 0x6d });
    expect(dataGroupFile(14)).toMatchObject({ fileId: 0x010e, tag: 0x6e });
    expect(dataGroupFile(15)).toMatchObject({ fileId: 0x010f, tag: 0x6f });
    expect(dataGroupFile(16)).toMatchObject({ name: 'DG16', fileId: 0x0110, sfi: 16, tag: 0x70 });
    expect(dataGroupByTag(0x6d)?.name).toBe('DG13');
    expect(dataGroupByTag(0x77)).toBeUndefined();
    expect(new Set(LDS_FILES.map((f) => f.fileId)).size).toBe(19);
    expect(() => dataGroupFile(17)).toThrow(RangeError);
  });

  it('unwraps a file by its template tag, refusing other tags and trailing bytes', () => {
    expect(unwrapLdsFile(fromHex('6D03020101'), dataGroupFile(13))).toEqual(fromHex('020101'));
    expect(wrapLdsFile(dataGroupFile(13), fromHex('020101'))).toEqual(fromHex('6D03020101'));
    expect(() => unwrapLdsFile(fromHex('6103020101'), dataGroupFile(13))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    expect(() => unwrapLdsFile(fromHex('6D0302010100'), dataGroupFile(13))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    expect(() => unwrapLdsFile(fromHex('6D0402'), dataGroupFile(13))).toThrow(expect.objectContaining({ code: 'TLV_MALFORMED' }));
  });

  it('encodes small INTEGERs minimally and decodes them back (2000 runs)', () => {
    expect(encodeSmallUnsigned(0)).toEqual(fromHex('020100'));
    expect(encodeSmallUnsigned(13)).toEqual(fromHex('02010D'));
    expect(encodeSmallUnsigned(128)).toEqual(fromHex('02020080'));
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(decodeSmallUnsigned(decodeTlv(encodeSmallUnsigned(n)), 'test', 'n')).toBe(n);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it(`fuzz: unwrapLdsFile and decodeSmallUnsigned give only typed errors (${FUZZ_RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        for (const parse of [() => unwrapLdsFile(bytes, dataGroupFile(1)), () => decodeSmallUnsigned(decodeTlv(bytes), 'test', 'n')]) {
          try {
            parse();
          } catch (err) {
            if (!isKioskError(err, 'TLV_MALFORMED') && !isKioskError(err, 'LDS_MALFORMED')) throw err;
          }
        }
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });
});
