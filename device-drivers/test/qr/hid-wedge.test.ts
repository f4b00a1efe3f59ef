import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KioskError, type KioskError as KioskErrorType } from '@kiosk/common';
import {
  CodeFramer,
  HidScanner,
  KeyboardWedgeDecoder,
  MODIFIER,
  SimulatedHidScanner,
  keypadDigitUsage,
  parseCccdQr,
  parseHidPosReport,
  textToKeyboardReports,
  type DecodeResult,
  type ScanEvent,
} from '../../src/qr/index.js';
import { PERSONA_QR, TODAY } from './persona.js';

const SEED = 8181;
const SHIFT = MODIFIER.leftShift;
const ALT = MODIFIER.leftAlt;
const ENTER = 0x28;

/** A boot report: modifiers and up to six keys. */
const report = (modifiers: number, ...keys: number[]): Uint8Array => Uint8Array.from([modifiers, 0, ...keys, 0, 0, 0, 0, 0, 0].slice(0, 8));
const UP = report(0);
/** Press-release pairs for [modifiers, usage] keys. */
const typed = (...keys: [number, number][]): Uint8Array[] => keys.flatMap(([mods, usage]) => [report(mods, usage), UP]);

function decodeAll(reports: Uint8Array[], decoder = new KeyboardWedgeDecoder()): DecodeResult[] {
  return reports.flatMap((r) => decoder.push(r));
}
const texts = (results: DecodeResult[]): string[] => results.flatMap((r) => (r.kind === 'code' ? [r.text] : []));
const problems = (results: DecodeResult[]): unknown[] => results.flatMap((r) => (r.kind === 'error' ? [r.error.details?.problem] : []));

/** Alt held, the keypad digits of `codePoint`, Alt released: what a scanner sends for a character off the layout. */
function altNumpad(codePoint: number): Uint8Array[] {
  const digits = [...String(codePoint)].flatMap((d) => [report(ALT, keypadDigitUsage(Number(d))), report(ALT)]);
  return [report(ALT), ...digits, UP];
}

describe('keyboard wedge decoding (US layout)', () => {
  it('decodes ASCII letters, digits and punctuation pressed and released, ended by Enter', () => {
    // a b c space 1 2 3 - . /
    const reports = typed([0, 0x04], [0, 0x05], [0, 0x06], [0, 0x2c], [0, 0x1e], [0, 0x1f], [0, 0x20], [0, 0x2d], [0, 0x37], [0, 0x38], [0, ENTER]);
    expect(decodeAll(reports)).toEqual([{ kind: 'code', text: 'abc 123-./' }]);
  });

  it('applies either Shift: capitals and the shifted symbols', () => {
    // H(left shift) i !(right shift) |(shift backslash)
    const reports = typed([SHIFT, 0x0b], [0, 0x0c], [MODIFIER.rightShift, 0x1e], [SHIFT, 0x31], [0, ENTER]);
    expect(texts(decodeAll(reports))).toEqual(['Hi!|']);
  });

  it('counts a repeated letter once per press, not once per report while held', () => {
    const reports = [report(0, 0x0f), report(0, 0x0f), UP, report(0, 0x0f), UP, ...typed([0, ENTER])];
    expect(texts(decodeAll(reports))).toEqual(['ll']);
  });

  it("decodes 'Nguyễn' with ễ (U+1EC5) as Alt + keypad 7 8 7 7", () => {
    const reports = [...typed([SHIFT, 0x11], [0, 0x0a], [0, 0x18], [0, 0x1c]), ...altNumpad(0x1ec5), ...typed([0, 0x11], [0, ENTER])];
    expect(0x1ec5).toBe(7877);
    expect(texts(decodeAll(reports))).toEqual(['Nguyễn']);
  });

  it('takes keypad digits without Alt as digits, and keypad Enter as Enter', () => {
    expect(texts(decodeAll(typed([0, keypadDigitUsage(0)], [0, keypadDigitUsage(9)], [0, 0x58])))).toEqual(['09']);
  });

  it('ignores roll-over error reports', () => {
    expect(texts(decodeAll([report(0, 0x04), report(0, 1, 1, 1, 1, 1, 1), UP, ...typed([0, ENTER])]))).toEqual(['a']);
  });

  it('drops a code with a key it cannot map (F1, Ctrl+key), reporting it once, and decodes the next one', () => {
    const reports = typed([0, 0x04], [0, 0x3a], [MODIFIER.leftCtrl, 0x05], [0, ENTER], [0, 0x06], [0, ENTER]);
    const results = decodeAll(reports);
    expect(problems(results)).toEqual(['unmapped-key']);
    expect(texts(results)).toEqual(['c']);
  });

  it('drops a code whose Alt+numpad value is no character (a surrogate, beyond U+10FFFF, too many digits)', () => {
    for (const bad of [altNumpad(0xd800), altNumpad(1_114_112), altNumpad(12_345_678)]) {
      expect(problems(decodeAll([...bad, ...typed([0, ENTER])]))).toEqual(['bad-alt-code']);
    }
  });

  it('reports a report of the wrong size as a typed error', () => {
    const [result] = new KeyboardWedgeDecoder().push(new Uint8Array(9));
    expect(result?.kind === 'error' && result.error.code).toBe('QR_SCAN_MALFORMED');
    expect(result?.kind === 'error' && result.error.details?.problem).toBe('bad-report');
  });

  it('drops an overlong code and a partial code left at idle', () => {
    const decoder = new KeyboardWedgeDecoder({ maxLength: 2 });
    expect(problems(decodeAll(typed([0, 0x04], [0, 0x04], [0, 0x04], [0, ENTER]), decoder))).toEqual(['overlong']);
    decodeAll(typed([0, 0x04]), decoder);
    const idle = decoder.idle();
    expect(idle?.kind === 'error' && idle.error.details?.problem).toBe('incomplete');
  });

  it('round-trips any text through textToKeyboardReports and the decoder', () => {
    const codePoint = fc.integer({ min: 1, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff);
    fc.assert(
      fc.property(fc.string({ unit: codePoint.map((cp) => String.fromCodePoint(cp)), minLength: 1, maxLength: 30 }), (text) => {
        expect(decodeAll(textToKeyboardReports(text))).toEqual([{ kind: 'code', text }]);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('turns 2000 garbage reports into text or typed errors, never a crash', () => {
    const anyReport = fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 8 }) },
      { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.array(fc.integer({ min: 0, max: 0x65 }), { maxLength: 6 })).map(([m, keys]) => report(m, ...keys)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
    );
    fc.assert(
      fc.property(fc.array(anyReport, { maxLength: 40 }), (reports) => {
        const decoder = new KeyboardWedgeDecoder();
        for (const result of [...decodeAll(reports, decoder), decoder.idle()]) {
          if (result === undefined) continue;
          if (result.kind === 'code') expect(typeof result.text).toBe('string');
          else expect(result.error).toBeInstanceOf(KioskError);
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('HID-POS reports', () => {
  it('parses [report ID, length, data, padding]', () => {
    expect([...parseHidPosReport(Uint8Array.of(0x02, 3, 0x41, 0x42, 0x43, 0, 0, 0))]).toEqual([0x41, 0x42, 0x43]);
    expect([...parseHidPosReport(Uint8Array.of(0x05, 1, 0x41), 0x05)]).toEqual([0x41]);
  });

  it.each([
    ['shorter than the header', Uint8Array.of(0x02)],
    ['of another report ID', Uint8Array.of(0x01, 1, 0x41)],
    ['claiming more data than it holds', Uint8Array.of(0x02, 9, 0x41)],
  ])('rejects a report %s with a typed error', (_name, bytes) => {
    expect(() => parseHidPosReport(bytes)).toThrow(expect.objectContaining({ code: 'QR_SCAN_MALFORMED', details: { device: 'qr-scanner', problem: 'bad-report' } }));
  });

  it('carries the persona QR in UTF-8 across 64-byte reports, splitting characters, into a CodeFramer', () => {
    const bytes = Buffer.from(`${PERSONA_QR}\r`, 'utf8');
    const framer = new CodeFramer();
    const results: DecodeResult[] = [];
    for (let at = 0; at < bytes.length; at += 62) {
      const data = bytes.subarray(at, at + 62);
      const r = new Uint8Array(64);
      r.set([0x02, data.length, ...data]);
      results.push(...framer.push(parseHidPosReport(r)));
    }
    expect(texts(results)).toEqual([PERSONA_QR]);
  });
});

describe('SimulatedHidScanner', () => {
  it("emits 'scan' for the persona QR typed with Alt+numpad for every Vietnamese letter, and it parses", async () => {
    const scanner = new SimulatedHidScanner();
    const scans: ScanEvent[] = [];
    const attached: string[] = [];
    scanner.on('scan', (e) => scans.push(e));
    scanner.on('attached', (d) => attached.push(d));
    await scanner.start();
    await scanner.type(PERSONA_QR);
    await scanner.stop();
    expect(attached).toEqual(['simulated-hid']);
    expect(scans.map((s) => s.text)).toEqual([PERSONA_QR]);
    expect(scans[0]?.source).toEqual({ transport: 'hid-keyboard', device: 'simulated-hid' });
    expect(parseCccdQr(scans[0]?.text ?? '', { today: TODAY }).placeOfResidence).toContain('Đội Cấn');
  });

  it("emits 'error' for garbage fed in, and refuses reports before start", async () => {
    const scanner = new SimulatedHidScanner();
    expect(() => scanner.feed(UP)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    const errors: KioskErrorType[] = [];
    scanner.on('error', (e) => errors.push(e));
    await scanner.start();
    scanner.feed(new Uint8Array(3));
    expect(errors.map((e) => e.details?.problem)).toEqual(['bad-report']);
  });
});

describe('HidScanner (node-hid)', () => {
  it('rejects ids that are not 16-bit as a configuration error', () => {
    expect(() => new HidScanner({ vendorId: 0x10000, productId: 1, mode: 'pos' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('reports a device that is not there as a typed error, stays detached, and stops cleanly', async () => {
    const scanner = new HidScanner({ vendorId: 0xfffe, productId: 0xfffd, mode: 'keyboard', reconnect: false });
    const errors: KioskErrorType[] = [];
    scanner.on('error', (e) => errors.push(e));
    await scanner.start();
    expect(scanner.isAttached).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('QR_SCANNER_NOT_FOUND');
    expect(errors[0]?.details).toMatchObject({ device: 'qr-scanner', problem: 'open-failed' });
    expect(errors[0]?.message).toContain('fffe:fffd');
    await scanner.stop();
  });

  it('keeps retrying a missing device with backoff but reports the outage once', async () => {
    const scanner = new HidScanner({ vendorId: 0xfffe, productId: 0xfffd, mode: 'pos', reconnect: { initialDelayMs: 5, maxDelayMs: 20 } });
    const errors: KioskErrorType[] = [];
    scanner.on('error', (e) => errors.push(e));
    await scanner.start();
    await new Promise((r) => setTimeout(r, 150));
    await scanner.stop();
    expect(errors).toHaveLength(1);
  });
});
