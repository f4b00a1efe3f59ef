import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAtr } from '../src/smartcard/atr.js';
import { contactlessAtr } from '../src/smartcard/vpcd/virtual-card.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('parseAtr', () => {
  it('reads protocols and historical bytes of a PC/SC contactless ATR', () => {
    const info = parseAtr(contactlessAtr(Uint8Array.of(0x4b, 0x49)));
    expect(info?.protocols).toEqual([0, 1]);
    expect(Buffer.from(info!.historicalBytes).toString('hex')).toBe('4b49');
    expect(info?.extendedLength).toBeUndefined();
  });

  it('finds the extended Lc/Le bit in the card-capabilities object', () => {
    // category 80, compact-TLV 73 = card capabilities, 3rd byte 0x40 set / clear
    expect(parseAtr(contactlessAtr(hex('80 73 00 00 40')))?.extendedLength).toBe(true);
    expect(parseAtr(contactlessAtr(hex('80 73 00 00 00')))?.extendedLength).toBe(false);
    expect(parseAtr(contactlessAtr(hex('00 73 00 00 40 00 90 00')))?.extendedLength).toBe(true);
  });

  it('returns undefined, never throws, on arbitrary bytes (fuzz, 5000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const info = parseAtr(bytes);
        return info === undefined || info.historicalBytes.length <= 15;
      }),
      { numRuns: 5000 },
    );
  });
});
