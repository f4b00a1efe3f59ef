import { KioskError } from '@kiosk/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { ASN1_TAG, decodeOid, decodeTime, encodeOid } from '../../src/encoding/der.js';
import { decodeTlv, encodeTlv } from '../../src/encoding/tlv.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const ROUND_TRIP_RUNS = 2000;
const RANDOM_BYTES_RUNS = 3000;
const tlvMalformed: unknown = expect.objectContaining({ code: 'TLV_MALFORMED' });

describe('decodeOid (strict)', () => {
  it('decodes known OIDs and encodes them back', () => {
    expect(toHex(encodeOid('0.4.0.127.0.7.2.2.2'))).toBe('04007F0007020202');
    expect(toHex(encodeOid('1.0.10646.1.0.8'))).toBe('28D316010008');
    expect(toHex(encodeOid('2.23.136.1.1.5'))).toBe('678108010105');
    expect(decodeOid(fromHex('2A864886F70D010101'))).toBe('1.2.840.113549.1.1.1');
    expect(decodeOid(fromHex('2B24030302080101'))).toBe('1.3.36.3.3.2.8.1.1');
    expect(decodeOid(fromHex('8837'))).toBe('2.999');
    expect(() => encodeOid('1.40')).toThrow(RangeError);
    expect(() => encodeOid('1.02')).toThrow(RangeError);
  });

  it('refuses empty, non-minimal, truncated and overlong encodings with TLV_MALFORMED', () => {
    expect(() => decodeOid(new Uint8Array(0))).toThrow(tlvMalformed);
    expect(() => decodeOid(fromHex('2A8001'))).toThrow(tlvMalformed); // leading 80 in an arc
    expect(() => decodeOid(fromHex('8001'))).toThrow(tlvMalformed); // leading 80 in the first arc
    expect(() => decodeOid(fromHex('2A80'))).toThrow(tlvMalformed); // ends inside an arc
    expect(() => decodeOid(fromHex('2A864886'))).toThrow(tlvMalformed);
    expect(() => decodeOid(fromHex(`2A${'81'.repeat(20)}01`))).toThrow(tlvMalformed); // 21-byte arc
    expect(() => decodeOid(fromHex(`2A${'FF'.repeat(5000)}7F`))).toThrow(tlvMalformed); // huge arc, refused early
    expect(decodeOid(fromHex(`2A${'81'.repeat(19)}01`))).toMatch(/^1\.2\.\d+$/); // 20 bytes: a UUID arc fits
  });

  it('reports through the caller’s error factory when given one', () => {
    const fail = (message: string): KioskError => new KioskError('LDS_MALFORMED', `DG15: ${message}`);
    expect(() => decodeOid(fromHex('2A8001'), fail)).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED', message: 'DG15: OBJECT IDENTIFIER arc with a leading 80 byte' }));
  });

  it(`round-trips valid OIDs (${ROUND_TRIP_RUNS} fast-check cases)`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.nat({ max: 39 }), fc.array(fc.bigInt({ min: 0n, max: 1n << 128n }), { maxLength: 8 }), (first, second, rest) => {
        const oid = [first, first < 2 ? second : second * 1000, ...rest].join('.');
        expect(decodeOid(encodeOid(oid))).toBe(oid);
      }),
      { numRuns: ROUND_TRIP_RUNS, seed: SEED },
    );
  });

  it(`accepts random bytes only when they are the canonical encoding, else TLV_MALFORMED (${RANDOM_BYTES_RUNS} fast-check cases)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        let oid: string;
        try {
          oid = decodeOid(bytes);
        } catch (err) {
          expect(err).toEqual(tlvMalformed);
          return;
        }
        expect(toHex(encodeOid(oid))).toBe(toHex(bytes));
      }),
      { numRuns: RANDOM_BYTES_RUNS, seed: SEED },
    );
  });
});

describe('decodeTime', () => {
  const time = (tag: number, text: string): Date => decodeTime(decodeTlv(encodeTlv(tag, new TextEncoder().encode(text))));

  it('reads Zulu UTCTime with the RFC 5280 century rule and GeneralizedTime', () => {
    expect(time(ASN1_TAG.UTC_TIME, '491231235959Z').toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(time(ASN1_TAG.UTC_TIME, '500101000000Z').toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(time(ASN1_TAG.GENERALIZED_TIME, '20260315081500Z').toISOString()).toBe('2026-03-15T08:15:00.000Z');
  });

  it('refuses other forms and other tags with TLV_MALFORMED, or the caller’s error', () => {
    expect(() => time(ASN1_TAG.UTC_TIME, '4912312359Z')).toThrow(tlvMalformed);
    expect(() => time(ASN1_TAG.UTC_TIME, '491231235959+0700')).toThrow(tlvMalformed);
    expect(() => time(ASN1_TAG.GENERALIZED_TIME, '491231235959Z')).toThrow(tlvMalformed);
    expect(() => time(ASN1_TAG.OCTET_STRING, '20260315081500Z')).toThrow(tlvMalformed);
    const tlv = decodeTlv(encodeTlv(ASN1_TAG.UTC_TIME, Uint8Array.of(0x41)));
    expect(() => decodeTime(tlv, (m) => new KioskError('LDS_MALFORMED', m))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
  });
});
