import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { decodeHeader, decodeTlv, decodeTlvList, encodeLength, encodeTlv, isConstructed } from '../../src/encoding/tlv.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

describe('BER-TLV', () => {
  it('decodes one-, two- and three-byte tags and long-form lengths', () => {
    expect(decodeTlv(bytes('6103010203'))).toMatchObject({ tag: 0x61, headerLength: 2, end: 5 });
    expect(decodeTlv(bytes('5F1F0141')).tag).toBe(0x5f1f);
    expect(decodeTlv(bytes('7F61820001AA')).tag).toBe(0x7f61);
    expect(decodeHeader(bytes('75820FA0'))).toEqual({ tag: 0x75, length: 4000, headerLength: 4 });
    expect(isConstructed(0x7f61)).toBe(true);
    expect(isConstructed(0x5f1f)).toBe(false);
  });

  it('encodes lengths in the shortest form', () => {
    expect(hex(encodeLength(127))).toBe('7F');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeTlv(0x5f1f, bytes('4142')))).toBe('5F1F024142');
  });

  it('refuses truncation, indefinite length and over-long lengths with TLV_MALFORMED', () => {
    for (const bad of ['61', '6105010203', '6180', '61850000000001', '5F', '7F8181', '7F']) {
      try {
        decodeTlv(bytes(bad));
        expect.unreachable(bad);
      } catch (err) {
        expect(isKioskError(err, 'TLV_MALFORMED'), bad).toBe(true);
      }
    }
  });

  it('decodes what it encodes (property, 2000 cases)', () => {
    const tag = fc.constantFrom(0x30, 0x61, 0x75, 0x5f1f, 0x7f61, 0x6d);
    fc.assert(
      fc.property(fc.array(fc.tuple(tag, fc.uint8Array({ maxLength: 600 })), { maxLength: 5 }), (items) => {
        const encoded = items.map(([t, v]) => encodeTlv(t, v));
        const all = Uint8Array.from(encoded.flatMap((e) => [...e]));
        const back = decodeTlvList(all);
        return back.length === items.length && back.every((t, i) => t.tag === items[i]![0] && hex(t.value) === hex(items[i]![1]));
      }),
      { numRuns: 2000 },
    );
  });

  it('never crashes on arbitrary bytes: a list of TLVs or TLV_MALFORMED (fuzz, 5000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          const list = decodeTlvList(input);
          return list.every((t) => t.end <= input.length);
        } catch (err) {
          return isKioskError(err, 'TLV_MALFORMED');
        }
      }),
      { numRuns: 5000 },
    );
  });
});
