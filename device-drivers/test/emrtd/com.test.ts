import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../src/encoding/bytes.js';
import { encodeCom, parseCom } from '../../src/emrtd/lds/com.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
// ICAO 9303-11 Appendix D.4: the EF.COM read under secure messaging.
const ICAO_EF_COM = '60145F0104303130365F36063034303030305C026175';
// What a CCCD chip lists: DG1, DG2, DG13, DG14, DG15.
const CCCD_COM = { ldsVersion: '0107', unicodeVersion: '040000', dataGroups: [1, 2, 13, 14, 15] };

const onlyTypedErrors = typedErrorsOnly(parseCom);

const mutation = mutationsOf;

describe('EF.COM', () => {
  it('parses and re-encodes the ICAO Appendix D EF.COM', () => {
    const com = parseCom(fromHex(ICAO_EF_COM));
    expect(com).toEqual({ ldsVersion: '0106', unicodeVersion: '040000', dataGroups: [1, 2] });
    expect(encodeCom(com)).toEqual(fromHex(ICAO_EF_COM));
  });

  it('encodes the CCCD data group list as tags', () => {
    expect(encodeCom(CCCD_COM)).toEqual(fromHex('60175F0104303130375F36063034303030305C0561756D6E6F'));
    expect(parseCom(encodeCom(CCCD_COM))).toEqual(CCCD_COM);
  });

  it('refuses unknown tags, duplicates, missing objects and bad versions', () => {
    const malformed: unknown = expect.objectContaining({ code: 'LDS_MALFORMED' });
    expect(() => parseCom(fromHex('60155F0104303130365F36063034303030305C03617577'))).toThrow(malformed); // 77 is EF.SOD
    expect(() => parseCom(fromHex('60155F0104303130365F36063034303030305C03617561'))).toThrow(malformed); // DG1 twice
    expect(() => parseCom(fromHex('600D5F36063034303030305C026175'))).toThrow(malformed); // no LDS version
    expect(() => parseCom(fromHex('60145F0104303130415F36063034303030305C026175'))).toThrow(malformed); // "010A"
    expect(() => parseCom(fromHex('61145F0104303130365F36063034303030305C026175'))).toThrow(malformed); // DG1's tag
    expect(() => encodeCom({ ...CCCD_COM, dataGroups: [1, 1] })).toThrow(RangeError);
  });

  it('parseCom(encodeCom(x)) gives back x (2000 runs)', () => {
    const com = fc.record({
      ldsVersion: fc.stringMatching(/^[0-9]{4}$/),
      unicodeVersion: fc.stringMatching(/^[0-9]{6}$/),
      dataGroups: fc.uniqueArray(fc.integer({ min: 1, max: 16 }), { maxLength: 16 }),
    });
    fc.assert(
      fc.property(com, (c) => {
        expect(parseCom(encodeCom(c))).toEqual(c);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated files give only TLV_MALFORMED / LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(fc.property(mutation(encodeCom(CCCD_COM)), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
  });
});
