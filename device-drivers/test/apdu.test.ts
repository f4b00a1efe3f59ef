import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { decodeCommand, decodeResponse, encodeCommand, encodeResponse, swHex } from '../src/smartcard/apdu.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('encodeCommand', () => {
  it('encodes the four ISO 7816-4 short cases', () => {
    expect(hex(encodeCommand({ cla: 0, ins: 0xa4, p1: 0, p2: 0x0c }))).toBe('00A4000C');
    expect(hex(encodeCommand({ cla: 0, ins: 0x84, p1: 0, p2: 0, le: 8 }))).toBe('0084000008');
    // SELECT EF.COM by file identifier (ICAO 9303-11 Appendix D.4, unprotected form)
    expect(hex(encodeCommand({ cla: 0, ins: 0xa4, p1: 2, p2: 0x0c, data: Uint8Array.of(0x01, 0x1e) }))).toBe('00A4020C02011E');
    expect(hex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data: Uint8Array.of(1), le: 256 }))).toBe('00B000000101' + '00');
  });

  it('switches to extended length when Lc > 255 or Le > 256', () => {
    expect(hex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 65536 }))).toBe('00B00000000000');
    expect(hex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1000 }))).toBe('00B000000003E8');
    const data = new Uint8Array(300).fill(0xaa);
    const apdu = encodeCommand({ cla: 0, ins: 0xd6, p1: 0, p2: 0, data, le: 512 });
    expect(hex(apdu.subarray(0, 7))).toBe('00D6000000012C');
    expect(apdu.length).toBe(4 + 3 + 300 + 2);
    expect(hex(apdu.subarray(-2))).toBe('0200');
  });

  it('rejects values that are not bytes or lengths out of range', () => {
    expect(() => encodeCommand({ cla: 256, ins: 0, p1: 0, p2: 0 })).toThrow(RangeError);
    expect(() => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, le: 0 })).toThrow(RangeError);
    expect(() => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(65536) })).toThrow(RangeError);
  });

  it('always yields a length consistent with its Lc/Le fields (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.option(fc.integer({ min: 1, max: 65536 }), { nil: undefined }), (data, le) => {
        const apdu = encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data, le });
        const extended = data.length > 255 || (le ?? 0) > 256;
        const lcBytes = data.length === 0 ? 0 : extended ? 3 : 1;
        const leBytes = le === undefined ? 0 : extended ? (data.length === 0 ? 3 : 2) : 1;
        return apdu.length === 4 + lcBytes + data.length + leBytes;
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeResponse', () => {
  it('splits data and status word', () => {
    const r = decodeResponse(Uint8Array.of(0x60, 0x14, 0x90, 0x00));
    expect(hex(r.data)).toBe('6014');
    expect(swHex(r.sw)).toBe('9000');
  });

  it('gives a typed error for fewer than two bytes', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0x90)]) {
      try {
        decodeResponse(bytes);
        expect.unreachable();
      } catch (err) {
        expect(isKioskError(err, 'CARD_MALFORMED_RESPONSE')).toBe(true);
      }
    }
  });
});

describe('decodeCommand', () => {
  it('inverts encodeCommand for every case, short and extended (property)', () => {
    fc.assert(
      fc.property(
        fc.record({ cla: fc.integer({ min: 0, max: 255 }), ins: fc.integer({ min: 0, max: 255 }), p1: fc.integer({ min: 0, max: 255 }), p2: fc.integer({ min: 0, max: 255 }) }),
        fc.uint8Array({ maxLength: 700 }),
        fc.option(fc.integer({ min: 1, max: 65536 }), { nil: undefined }),
        (header, data, le) => {
          const apdu = { ...header, ...(data.length ? { data } : {}), ...(le === undefined ? {} : { le }) };
          const back = decodeCommand(encodeCommand(apdu));
          return back.cla === apdu.cla && back.ins === apdu.ins && back.le === apdu.le && Buffer.from(back.data ?? []).equals(Buffer.from(apdu.data ?? []));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('gives a typed error, never a crash, on any byte string (fuzz)', () => {
    let typed = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeCommand(bytes);
        } catch (err) {
          if (!isKioskError(err, 'APDU_MALFORMED')) throw err;
          typed++;
        }
      }),
      { numRuns: 2000 },
    );
    expect(typed).toBeGreaterThan(0);
  });

  it('encodes a response as data + SW', () => {
    expect(hex(encodeResponse(Uint8Array.of(1, 2), 0x6a82))).toBe('01026A82');
  });
});
