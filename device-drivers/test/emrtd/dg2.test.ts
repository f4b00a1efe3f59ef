import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, toHex } from '../../src/encoding/bytes.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { encodeDg2, parseDg2, type FaceImage } from '../../src/emrtd/lds/dg2.js';
import { decodePortrait } from '../../src/image/decode.js';
import { HEIGHT, makeSamples, WIDTH, type Samples } from '../image/samples.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
const mutation = mutationsOf;

let samples: Samples;

beforeAll(async () => {
  samples = await makeSamples();
});

describe('DG2 structure', () => {
  it('encodes a face as 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E ISO/IEC 19794-5 record } } }', () => {
    const image = Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3);
    const dg2 = encodeDg2([{ format: 'jpeg', width: 480, height: 640, image }]);
    const record = [
      '46414300 30313000 00000035 0001', // FAC\0, 010\0, record length 53, one image
      '00000027 0000 0000000000000000000000000000', // facial information: length 39, no feature points, all unspecified
      '01 00 01E0 0280 00 00 0000 0000', // image information: full frontal, JPEG, 480 x 640
      'FFD8FFE0010203',
    ].join('');
    const template = `7F604C A112 8002 0101 8101 02 8201 00 8702 0101 8802 0008 5F2E35 ${record}`;
    const expected = `7555 7F6152 020101 ${template}`.replace(/\s/g, '');
    expect(toHex(dg2)).toBe(expected);
    expect(parseDg2(dg2)).toEqual([{ format: 'jpeg', width: 480, height: 640, image }]);
  });

  it('skips feature points and reads several images of one record and several templates', () => {
    const face = (type: number, width: number, image: Uint8Array, featurePoints: number): Uint8Array => {
      const info = new Uint8Array(20 + featurePoints * 8 + 12);
      const view = new DataView(info.buffer);
      view.setUint32(0, info.length + image.length);
      view.setUint16(4, featurePoints);
      info.fill(0xee, 20, 20 + featurePoints * 8);
      const at = 20 + featurePoints * 8;
      view.setUint8(at, 1);
      view.setUint8(at + 1, type);
      view.setUint16(at + 2, width);
      view.setUint16(at + 4, 2 * width);
      return concatBytes(info, image);
    };
    const faces = [face(1, 100, Uint8Array.of(0xff, 0x4f, 0xff, 0x51), 3), face(0, 120, Uint8Array.of(0xff, 0xd8, 0xff), 0)];
    const header = new Uint8Array(14);
    header.set([0x46, 0x41, 0x43, 0x00, 0x30, 0x31, 0x30, 0x00]);
    new DataView(header.buffer).setUint32(8, 14 + faces[0]!.length + faces[1]!.length);
    new DataView(header.buffer).setUint16(12, 2);
    const record = concatBytes(header, ...faces);
    const bht = encodeTlv(0xa1, encodeTlv(0x81, Uint8Array.of(2)));
    const dg2 = encodeTlv(
      0x75,
      encodeTlv(0x7f61, Uint8Array.of(0x02, 0x01, 0x02), encodeTlv(0x7f60, bht, encodeTlv(0x5f2e, record)), encodeTlv(0x7f60, bht, encodeTlv(0x7f2e, record))),
    );
    const parsed = parseDg2(dg2);
    expect(parsed).toHaveLength(4);
    expect(parsed[0]).toEqual({ format: 'jpeg2000', width: 100, height: 200, image: Uint8Array.of(0xff, 0x4f, 0xff, 0x51) });
    expect(parsed[1]).toEqual({ format: 'jpeg', width: 120, height: 240, image: Uint8Array.of(0xff, 0xd8, 0xff) });
  });

  it('refuses broken structures with LDS_MALFORMED', () => {
    const good = encodeDg2([{ format: 'jpeg', width: 1, height: 1, image: Uint8Array.of(1) }]);
    const malformed: unknown = expect.objectContaining({ code: 'LDS_MALFORMED' });
    const patched = (from: number[], to: number[]): Uint8Array => {
      const at = good.findIndex((_, i) => from.every((b, j) => good[i + j] === b));
      const copy = good.slice();
      copy.set(to, at);
      return copy;
    };
    expect(() => parseDg2(patched([0x02, 0x01, 0x01], [0x02, 0x01, 0x02]))).toThrow(malformed); // count 2, one template
    expect(() => parseDg2(patched([0x46, 0x41, 0x43, 0x00], [0x46, 0x41, 0x44]))).toThrow(malformed); // not FAC
    expect(() => parseDg2(patched([0x30, 0x31, 0x30, 0x00], [0x30, 0x33]))).toThrow(malformed); // version 030
    expect(() => parseDg2(patched([0x01, 0x00, 0x00, 0x01, 0x00, 0x01], [0x01, 0x02]))).toThrow(malformed); // image data type 2
    expect(() => parseDg2(patched([0x5f, 0x2e], [0x5f, 0x2f]))).toThrow(malformed); // no data block
    expect(() => parseDg2(encodeTlv(0x75, encodeTlv(0x7f61, Uint8Array.of(0x02, 0x01, 0x00))))).toThrow(malformed);
    expect(() => parseDg2(encodeTlv(0x61, new Uint8Array(0)))).toThrow(malformed);
  });
});

describe('DG2 face images', () => {
  it('the image of a DG2 face decodes as a portrait, its size the one the record declares', async () => {
    const [face] = parseDg2(encodeDg2([{ format: 'jpeg2000', width: WIDTH, height: HEIGHT, image: samples.jp2Rgb }]));
    const portrait = await decodePortrait(face!.image, 'face image');
    expect(portrait.display).toMatchObject({ mime: 'image/png', width: face!.width, height: face!.height });
    expect(portrait.pixels).toMatchObject({ width: face!.width, height: face!.height });
  });
});

const faceImage: fc.Arbitrary<FaceImage> = fc.record({
  format: fc.constantFrom('jpeg' as const, 'jpeg2000' as const),
  width: fc.integer({ min: 0, max: 0xffff }),
  height: fc.integer({ min: 0, max: 0xffff }),
  image: fc.uint8Array({ minLength: 1, maxLength: 300 }),
});

const onlyTypedErrors = typedErrorsOnly(parseDg2);

describe('DG2 properties', () => {
  it('parseDg2(encodeDg2(faces)) gives back the faces (1000 runs)', () => {
    fc.assert(
      fc.property(fc.array(faceImage, { minLength: 1, maxLength: 3 }), (faces) => {
        expect(parseDg2(encodeDg2(faces))).toEqual(faces);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated DG2 files give only TLV_MALFORMED / LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    const valid = encodeDg2([
      { format: 'jpeg2000', width: WIDTH, height: HEIGHT, image: samples.j2kRgb.subarray(0, 40) },
      { format: 'jpeg', width: 2, height: 3, image: Uint8Array.of(0xff, 0xd8, 0xff, 0xd9) },
    ]);
    fc.assert(fc.property(mutation(valid), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
  });

});
