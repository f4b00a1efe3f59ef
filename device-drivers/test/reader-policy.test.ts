import { describe, expect, it } from 'vitest';
import { isKioskError, type KioskError } from '@kiosk/common';
import { assertReaderConfig, isReaderAllowed, readerRefusal, virtualReaderKind } from '../src/smartcard/reader-policy.js';

const VIRTUAL = [
  'Virtual PCD 00 00',
  'Virtual PCD 00 01',
  'Microsoft Virtual Smart Card 0',
  'Virtual Smart Card Architecture CCID Emulator 00 00',
  'vpcd slot 1',
  'jCardSim.Terminal',
  'QEMU QEMU USB CCID 00 00',
  'Card Simulator 00 00',
];
// Names as pcscd gives them for common physical CCID readers (contactless and dual-interface).
const PHYSICAL = [
  'ACS ACR1252 Dual Reader [ACR1252 Dual Reader PICC] 00 00',
  'ACS ACR122U PICC Interface 00 00',
  'Identiv uTrust 3700 F CL Reader [uTrust 3700 F CL Reader] 00 00',
  'HID Global OMNIKEY 5422 Smartcard Reader [OMNIKEY 5422CL Smartcard Reader] 01 00',
  'REINER SCT cyberJack RFID standard (7592010001) 00 00',
  'Feitian bR301 [bR301 CCID] 00 00',
];

function thrown(fn: () => void): KioskError | undefined {
  try {
    fn();
  } catch (err) {
    return err as KioskError;
  }
  return undefined;
}

describe('reader policy', () => {
  it('recognises well-known virtual and emulated readers by name, and not physical ones', () => {
    for (const name of VIRTUAL) expect(virtualReaderKind(name), name).toBeDefined();
    for (const name of PHYSICAL) expect(virtualReaderKind(name), name).toBeUndefined();
  });

  it('real mode refuses virtual readers with CARD_READER_REFUSED naming the reader; physical ones pass', () => {
    const refusal = readerRefusal('real', 'Virtual PCD 00 00');
    expect(isKioskError(refusal, 'CARD_READER_REFUSED')).toBe(true);
    expect(refusal?.message).toContain('"Virtual PCD 00 00" looks like a virtual reader');
    expect(refusal?.details).toEqual({ reader: 'Virtual PCD 00 00' });
    for (const name of PHYSICAL) expect(isReaderAllowed('real', name), name).toBe(true);
  });

  it('simulated mode uses any reader', () => {
    for (const name of [...VIRTUAL, ...PHYSICAL]) expect(isReaderAllowed('simulated', name), name).toBe(true);
  });

  it('real mode needs devices.cardReader: empty or blank is CONFIG_INVALID with a message saying what to set', () => {
    for (const value of ['', '   ']) {
      const err = thrown(() => assertReaderConfig('real', value));
      expect(isKioskError(err, 'CONFIG_INVALID')).toBe(true);
      expect(err?.message).toContain("devices.mode is 'real' but devices.cardReader (KIOSK_DEVICES_CARD_READER) is empty");
    }
    expect(thrown(() => assertReaderConfig('real', '', '--reader or devices.cardReader'))?.message).toContain('--reader or devices.cardReader is empty');
  });

  it('real mode refuses a configured reader name that is a virtual one; accepts a physical one; simulated accepts anything', () => {
    expect(isKioskError(thrown(() => assertReaderConfig('real', 'Virtual PCD')), 'CARD_READER_REFUSED')).toBe(true);
    expect(thrown(() => assertReaderConfig('real', 'ACR1252'))).toBeUndefined();
    expect(thrown(() => assertReaderConfig('simulated', ''))).toBeUndefined();
    expect(thrown(() => assertReaderConfig('simulated', 'Virtual PCD'))).toBeUndefined();
  });
});
