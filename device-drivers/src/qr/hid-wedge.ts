import { createRequire } from 'node:module';
import type * as NodeHid from 'node-hid';
import type { KioskError } from '@kiosk/common';
import { QR_MAX_BYTES, ReconnectingScanner, preciseNow, scannerError, type DecodeResult, type ReconnectOptions, type ScanSource } from './scanner.js';
import { CodeFramer, type CodeFramerOptions } from './serial-scanner.js';

// Loaded on first open: importing the QR module must not load a native binding.
const require = createRequire(import.meta.url);

/** Modifier bits of byte 0 of a boot-protocol keyboard report. */
export const MODIFIER = {
  leftCtrl: 0x01,
  leftShift: 0x02,
  leftAlt: 0x04,
  leftGui: 0x08,
  rightCtrl: 0x10,
  rightShift: 0x20,
  rightAlt: 0x40,
  rightGui: 0x80,
} as const;

const SHIFT = MODIFIER.leftShift | MODIFIER.rightShift;
// Right Alt is AltGr on most non-US layouts; Windows' Alt+numpad entry uses left Alt, and so do scanners.
const ALT = MODIFIER.leftAlt;
const CTRL_OR_GUI = MODIFIER.leftCtrl | MODIFIER.rightCtrl | MODIFIER.leftGui | MODIFIER.rightGui | MODIFIER.rightAlt;

export const BOOT_REPORT_LENGTH = 8;
export const USAGE_ENTER = 0x28;
export const USAGE_KEYPAD_ENTER = 0x58;
/** Keypad 1..9 are 0x59..0x61 and keypad 0 is 0x62 (HID Usage Tables, Keyboard/Keypad page 0x07). */
export function keypadDigitUsage(digit: number): number {
  return digit === 0 ? 0x62 : 0x58 + digit;
}
function keypadDigit(usage: number): number | undefined {
  if (usage === 0x62) return 0;
  return usage >= 0x59 && usage <= 0x61 ? usage - 0x58 : undefined;
}

/** Error Roll Over, POST Fail, Error Undefined: a report of these says nothing about which keys are down. */
const PHANTOM_USAGES = new Set([0x01, 0x02, 0x03]);

/** A keyboard layout: usage ID -> [character, character with Shift]. */
export type KeyboardLayout = ReadonlyMap<number, readonly [string, string]>;

function usLayout(): KeyboardLayout {
  const map = new Map<number, readonly [string, string]>();
  for (let i = 0; i < 26; i++) map.set(0x04 + i, [String.fromCharCode(0x61 + i), String.fromCharCode(0x41 + i)]);
  const digitRow = ['1!', '2@', '3#', '4$', '5%', '6^', '7&', '8*', '9(', '0)'];
  digitRow.forEach((pair, i) => map.set(0x1e + i, [pair[0] ?? '', pair[1] ?? '']));
  const rest: [number, string, string][] = [
    [0x2b, '\t', '\t'],
    [0x2c, ' ', ' '],
    [0x2d, '-', '_'],
    [0x2e, '=', '+'],
    [0x2f, '[', '{'],
    [0x30, ']', '}'],
    [0x31, '\\', '|'],
    [0x33, ';', ':'],
    [0x34, "'", '"'],
    [0x35, '`', '~'],
    [0x36, ',', '<'],
    [0x37, '.', '>'],
    [0x38, '/', '?'],
    [0x54, '/', '/'],
    [0x55, '*', '*'],
    [0x56, '-', '-'],
    [0x57, '+', '+'],
    [0x63, '.', '.'],
  ];
  for (const [usage, plain, shifted] of rest) map.set(usage, [plain, shifted]);
  // Keypad digits with Num Lock on, which scanners assume.
  for (let d = 0; d <= 9; d++) map.set(keypadDigitUsage(d), [String(d), String(d)]);
  return map;
}

/** The US layout: printable ASCII only. */
export const US_LAYOUT: KeyboardLayout = usLayout();

export interface KeyboardWedgeOptions {
  layout?: KeyboardLayout;
  /** Longest code in characters (default QR_MAX_BYTES). */
  maxLength?: number;
}

/**
 * Decodes boot-protocol keyboard reports ([modifiers, reserved, 6 usage IDs]) into codes ended by Enter. A key
 * counts when its usage appears in a report without being in the previous one (scanners send press then release).
 *
 * A keyboard wedge sends key positions, not characters, so letters outside the layout (all Vietnamese letters
 * with diacritics on a US layout) can only arrive as Alt+numpad sequences: Alt held, keypad digits, Alt released
 * gives the character whose code point is the decimal number typed. (Windows itself reads Alt+digits as an OEM or,
 * with a leading 0, an ANSI code page index; scanners with a "Unicode Alt mode" send the code point, which this
 * decodes.) A code with any key that cannot be decoded is dropped whole: a name missing a letter must not pass.
 */
export class KeyboardWedgeDecoder {
  private readonly layout: KeyboardLayout;
  private readonly maxLength: number;
  private previousKeys: number[] = [];
  private previousModifiers = 0;
  private chars: string[] = [];
  /** Digits typed while Alt is held; undefined outside an Alt sequence. */
  private altDigits: string | undefined;
  /** The code in progress has lost a character; it is dropped at its Enter. */
  private broken = false;

  constructor(options: KeyboardWedgeOptions = {}) {
    this.layout = options.layout ?? US_LAYOUT;
    this.maxLength = options.maxLength ?? QR_MAX_BYTES;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1) throw scannerError('options', 'maxLength must be a positive integer');
  }

  get pending(): boolean {
    return this.chars.length > 0 || this.broken || this.altDigits !== undefined;
  }

  push(report: Uint8Array): DecodeResult[] {
    const results: DecodeResult[] = [];
    if (report.length !== BOOT_REPORT_LENGTH) {
      this.breakCode(scannerError('bad-report', `keyboard report of ${report.length} bytes, expected ${BOOT_REPORT_LENGTH}`), results);
      return results;
    }
    const modifiers = report[0] ?? 0;
    const keys = [...report.subarray(2)].filter((usage) => usage !== 0);
    if (keys.some((usage) => PHANTOM_USAGES.has(usage))) return results;

    const altHeld = (modifiers & ALT) !== 0;
    if ((this.previousModifiers & ALT) !== 0 && !altHeld) this.endAltSequence(results);
    if (altHeld) this.altDigits ??= '';
    for (const usage of keys) {
      if (!this.previousKeys.includes(usage)) this.press(usage, modifiers, results);
    }
    this.previousKeys = keys;
    this.previousModifiers = modifiers;
    return results;
  }

  /** The wedge went quiet mid-code: the partial code is dropped (reported when it had content). */
  idle(): DecodeResult | undefined {
    const hadText = this.chars.length > 0 || (this.altDigits ?? '') !== '';
    const count = this.chars.length;
    this.reset();
    return hadText ? { kind: 'error', error: scannerError('incomplete', `partial code of ${count} characters without Enter discarded`, { details: { characters: count } }) } : undefined;
  }

  reset(): void {
    this.chars = [];
    this.altDigits = undefined;
    this.broken = false;
    this.previousKeys = [];
    this.previousModifiers = 0;
  }

  private press(usage: number, modifiers: number, results: DecodeResult[]): void {
    if (this.altDigits !== undefined) {
      const digit = keypadDigit(usage);
      if (digit === undefined) this.breakCode(scannerError('unmapped-key', `key 0x${usage.toString(16)} pressed with Alt`, { details: { usage } }), results);
      // U+10FFFF has 7 decimal digits; more cannot be a character.
      else if (this.altDigits.length >= 7) this.breakCode(scannerError('bad-alt-code', 'Alt+numpad sequence longer than 7 digits'), results);
      else this.altDigits += String(digit);
      return;
    }
    if (usage === USAGE_ENTER || usage === USAGE_KEYPAD_ENTER) {
      if (!this.broken && this.chars.length > 0) results.push({ kind: 'code', text: this.chars.join('') });
      this.chars = [];
      this.broken = false;
      return;
    }
    const entry = this.layout.get(usage);
    if (!entry || (modifiers & CTRL_OR_GUI) !== 0) {
      this.breakCode(scannerError('unmapped-key', `key 0x${usage.toString(16)} (modifiers 0x${modifiers.toString(16)}) has no character`, { details: { usage, modifiers } }), results);
      return;
    }
    this.append(entry[(modifiers & SHIFT) !== 0 ? 1 : 0], results);
  }

  private endAltSequence(results: DecodeResult[]): void {
    const digits = this.altDigits ?? '';
    this.altDigits = undefined;
    if (digits === '') return; // Alt pressed and released alone
    const codePoint = Number(digits);
    const isSurrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
    if (codePoint === 0 || codePoint > 0x10ffff || isSurrogate) {
      this.breakCode(scannerError('bad-alt-code', `Alt+numpad value ${codePoint} is not a character`, { details: { codePoint } }), results);
      return;
    }
    this.append(String.fromCodePoint(codePoint), results);
  }

  private append(char: string, results: DecodeResult[]): void {
    if (this.broken) return;
    if (this.chars.length >= this.maxLength) {
      this.breakCode(scannerError('overlong', `code longer than ${this.maxLength} characters dropped`, { details: { maxLength: this.maxLength } }), results);
      return;
    }
    this.chars.push(char);
  }

  /** Reports the first problem of a code and drops the code up to its Enter. */
  private breakCode(error: KioskError, results: DecodeResult[]): void {
    if (!this.broken) results.push({ kind: 'error', error });
    this.broken = true;
    this.chars = [];
  }
}

/** Report ID of scanned-data input reports in the form parsed here. */
export const HID_POS_REPORT_ID = 0x02;
/** HID Usage Tables: the Bar Code Scanner page. */
export const HID_POS_USAGE_PAGE = 0x8c;

/**
 * The data bytes of a HID-POS input report in the simple form `[report ID, length n, n data bytes, padding]`.
 * The bytes are the code's raw bytes (UTF-8 for a CCCD QR), so they go through a CodeFramer like serial data.
 */
export function parseHidPosReport(report: Uint8Array, reportId = HID_POS_REPORT_ID): Uint8Array {
  if (report.length < 2) throw scannerError('bad-report', `HID-POS report of ${report.length} bytes is shorter than its header`);
  if (report[0] !== reportId) throw scannerError('bad-report', `HID-POS report ID 0x${(report[0] ?? 0).toString(16)}, expected 0x${reportId.toString(16)}`);
  const length = report[1] ?? 0;
  if (length > report.length - 2) throw scannerError('bad-report', `HID-POS report claims ${length} data bytes but holds ${report.length - 2}`);
  return report.subarray(2, 2 + length);
}

export interface HidScannerOptions extends CodeFramerOptions {
  vendorId: number;
  productId: number;
  /** 'keyboard': boot keyboard reports decoded with `layout`; 'pos': HID-POS reports framed by `suffix`. */
  mode: 'keyboard' | 'pos';
  layout?: KeyboardLayout;
  /**
   * keyboard: a leading report ID byte to strip (hidraw delivers one when the device numbers its reports);
   * pos: the scanned-data report ID (default HID_POS_REPORT_ID).
   */
  reportId?: number;
  /** A pause after which a partial code is dropped (default 1000 ms). */
  idleTimeoutMs?: number;
  reconnect?: ReconnectOptions | false;
}

/** Turns a device's input reports into codes. */
interface ReportDecoder {
  readonly pending: boolean;
  push(report: Uint8Array): DecodeResult[];
  idle(): DecodeResult | undefined;
  reset(): void;
}

function keyboardDecoder(options: HidScannerOptions): ReportDecoder {
  const decoder = new KeyboardWedgeDecoder(options);
  const { reportId } = options;
  return {
    get pending() {
      return decoder.pending;
    },
    push: (report) => decoder.push(reportId !== undefined && report[0] === reportId ? report.subarray(1) : report),
    idle: () => decoder.idle(),
    reset: () => decoder.reset(),
  };
}

function posDecoder(options: HidScannerOptions): ReportDecoder {
  const framer = new CodeFramer(options);
  return {
    get pending() {
      return framer.pending;
    },
    push: (report) => {
      let data: Uint8Array;
      try {
        data = parseHidPosReport(report, options.reportId);
      } catch (error) {
        // A lost report leaves a hole in the code being framed: drop that code.
        framer.reset();
        return [{ kind: 'error', error: error as KioskError }];
      }
      return framer.push(data);
    },
    idle: () => framer.idle(),
    reset: () => framer.reset(),
  };
}

/**
 * A USB HID scanner through node-hid (hidraw on Linux), opened by vendor and product ID; hot-plug by polling
 * with backoff, as hidapi has no arrival events. On Linux a keyboard-mode scanner also types into the focused
 * window, since the kernel's keyboard driver still gets its reports.
 */
export class HidScanner extends ReconnectingScanner {
  readonly source: ScanSource;
  private readonly options: HidScannerOptions;
  private readonly decoder: ReportDecoder;
  private readonly idleTimeoutMs: number;
  private device: NodeHid.HIDAsync | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(options: HidScannerOptions) {
    super(options.reconnect ?? {});
    const ids = [options.vendorId, options.productId];
    if (!ids.every((id) => Number.isInteger(id) && id >= 0 && id <= 0xffff)) throw scannerError('options', 'vendorId and productId must be 16-bit integers');
    this.idleTimeoutMs = options.idleTimeoutMs ?? 1000;
    if (!(this.idleTimeoutMs > 0)) throw scannerError('options', 'idleTimeoutMs must be positive');
    this.options = options;
    this.decoder = options.mode === 'keyboard' ? keyboardDecoder(options) : posDecoder(options);
    const hex = (n: number): string => n.toString(16).padStart(4, '0');
    this.source = { transport: options.mode === 'keyboard' ? 'hid-keyboard' : 'hid-pos', device: `${hex(options.vendorId)}:${hex(options.productId)}` };
  }

  protected async openDevice(): Promise<void> {
    const hid = require('node-hid') as typeof NodeHid;
    const { vendorId, productId, mode } = this.options;
    let device: NodeHid.HIDAsync;
    try {
      const candidates = await hid.devicesAsync(vendorId, productId);
      // A scanner may expose several interfaces; prefer the one whose usage matches the mode.
      const wanted = candidates.find((d) => (mode === 'pos' ? d.usagePage === HID_POS_USAGE_PAGE : d.usagePage === 0x01 && d.usage === 0x06)) ?? candidates[0];
      if (!wanted?.path) throw new Error('no such device');
      device = await hid.HIDAsync.open(wanted.path);
    } catch (err) {
      throw scannerError('open-failed', `cannot open HID device ${this.source.device}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.device = device;
    device.on('data', (report: Buffer) => this.receive(report));
    device.on('error', (err: unknown) => {
      if (this.device !== device) return;
      this.release();
      // hidapi reports an unplugged device as a read error; the handle is useless either way.
      void device.close().catch(() => undefined);
      this.lost(scannerError('disconnected', `HID device ${this.source.device} stopped: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    });
  }

  protected async closeDevice(): Promise<void> {
    const device = this.device;
    this.release();
    await device?.close().catch(() => undefined);
  }

  private receive(report: Buffer): void {
    const receivedAt = preciseNow();
    clearTimeout(this.idleTimer);
    for (const result of this.decoder.push(report)) this.deliver(result, receivedAt);
    if (this.decoder.pending) {
      this.idleTimer = setTimeout(() => {
        const result = this.decoder.idle();
        if (result) this.deliver(result, receivedAt);
      }, this.idleTimeoutMs);
    }
  }

  private release(): void {
    clearTimeout(this.idleTimer);
    this.decoder.reset();
    this.device?.removeAllListeners('data');
    this.device = undefined;
  }
}
