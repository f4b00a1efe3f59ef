import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { CodeFramer, type DecodeResult, parseCccdQr } from '../../src/qr/index.js';
import { PERSONA_QR, TODAY } from './persona.js';

const SEED = 4242;
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const texts = (results: (DecodeResult | undefined)[]): string[] => results.flatMap((r) => (r?.kind === 'code' ? [r.text] : []));
const problems = (results: (DecodeResult | undefined)[]): unknown[] => results.flatMap((r) => (r?.kind === 'error' ? [r.error.details?.problem] : []));

describe('CodeFramer', () => {
  it.each([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['TAB', '\t'],
  ] as const)('ends codes at %s', (suffix, bytes) => {
    const framer = new CodeFramer({ suffix });
    expect(texts(framer.push(utf8(`${PERSONA_QR}${bytes}second${bytes}`)))).toEqual([PERSONA_QR, 'second']);
    expect(framer.pending).toBe(false);
  });

  it('reassembles the persona QR fed one byte at a time (every multibyte character split) and it parses', () => {
    const framer = new CodeFramer();
    const results = [...utf8(`${PERSONA_QR}\r`)].flatMap((byte) => framer.push(Uint8Array.of(byte)));
    expect(texts(results)).toEqual([PERSONA_QR]);
    expect(parseCccdQr(texts(results)[0] ?? '', { today: TODAY }).fullName).toBe('Nguyễn Thị Thu Hường');
  });

  it('reassembles any chunking of any text with CRLF split across chunks too', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }), (codes, cuts) => {
        const framer = new CodeFramer({ suffix: 'CRLF' });
        const stream = utf8(codes.map((c) => `${c}\r\n`).join(''));
        const results: DecodeResult[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const size = cuts[i % cuts.length] ?? 1;
          results.push(...framer.push(stream.subarray(at, at + size)));
          at += size;
        }
        expect(texts(results)).toEqual(codes);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('discards a partial code at idle by default, and says so without its content', () => {
    const framer = new CodeFramer();
    expect(framer.push(utf8(PERSONA_QR.slice(0, 40)))).toEqual([]);
    const result = framer.idle();
    expect(result?.kind).toBe('error');
    if (result?.kind === 'error') {
      expect(isKioskError(result.error)).toBe(true);
      expect(result.error.details?.problem).toBe('incomplete');
      expect(JSON.stringify(result.error.toJSON())).not.toContain('Nguy');
    }
    expect(framer.pending).toBe(false);
  });

  it('flushes a partial code at idle when configured to', () => {
    const framer = new CodeFramer({ onIdle: 'flush' });
    framer.push(utf8('partial'));
    expect(texts([framer.idle()])).toEqual(['partial']);
  });

  it("with suffix 'none' a pause ends the code", () => {
    const framer = new CodeFramer({ suffix: 'none' });
    expect(framer.push(utf8('Hường'))).toEqual([]);
    expect(texts([framer.idle()])).toEqual(['Hường']);
    expect(framer.idle()).toBeUndefined();
  });

  it('drops an overlong code whole, including its tail, then resynchronizes at the next suffix', () => {
    const framer = new CodeFramer({ maxLength: 10 });
    const results = [...framer.push(utf8('0123456789AB')), ...framer.push(utf8('tail\rok\r'))];
    expect(problems(results)).toEqual(['overlong']);
    expect(texts(results)).toEqual(['ok']);
  });

  it('accepts a code of exactly maxLength bytes with a split CRLF', () => {
    const framer = new CodeFramer({ maxLength: 4, suffix: 'CRLF' });
    expect([...framer.push(utf8('abcd\r')), ...framer.push(utf8('\n'))]).toEqual([{ kind: 'code', text: 'abcd' }]);
  });

  it('drops invalid UTF-8 (a code page scanner, line noise) instead of yielding U+FFFD text', () => {
    const framer = new CodeFramer();
    const results = framer.push(Uint8Array.of(0x4e, 0x67, 0xe1, 0xbb, 0x0d, 0x41, 0x0d));
    expect(problems(results)).toEqual(['invalid-utf8']);
    expect(texts(results)).toEqual(['A']);
  });

  it('skips empty frames from doubled suffixes', () => {
    expect(texts(new CodeFramer().push(utf8('\r\rA\r\r')))).toEqual(['A']);
  });

  it('rejects a maxLength below 1 as a configuration error', () => {
    expect(() => new CodeFramer({ maxLength: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
