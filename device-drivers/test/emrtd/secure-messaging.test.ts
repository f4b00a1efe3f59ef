import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { encodeCommand, type CommandApdu } from '../../src/smartcard/apdu.js';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import type { KeyAlgorithm } from '../../src/emrtd/crypto/kdf.js';
import { SecureMessaging } from '../../src/emrtd/sm/secure-messaging.js';

const KEY_LENGTH: Record<KeyAlgorithm, number> = { '3DES': 16, 'AES-128': 16, 'AES-192': 24, 'AES-256': 32 };

/** A terminal session and a chip session with the same keys and SSC. */
function pair(algorithm: KeyAlgorithm, ssc?: Uint8Array): { terminal: SecureMessaging; chip: SecureMessaging } {
  const kEnc = new Uint8Array(KEY_LENGTH[algorithm]).map((_, i) => 0x40 + i);
  const kMac = new Uint8Array(KEY_LENGTH[algorithm]).map((_, i) => 0x80 + i);
  const start = ssc ?? new Uint8Array(algorithm === '3DES' ? 8 : 16);
  return { terminal: SecureMessaging.fromKeys(algorithm, kEnc, kMac, start), chip: SecureMessaging.fromKeys(algorithm, kEnc, kMac, start) };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an exception');
}

describe.each(['3DES', 'AES-128', 'AES-192', 'AES-256'] as const)('%s secure messaging', (algorithm) => {
  it('round-trips the command cases, keeping the chaining bit and the Le forms', () => {
    const { terminal, chip } = pair(algorithm);
    const commands: CommandApdu[] = [
      { cla: 0, ins: 0xa4, p1: 2, p2: 0x0c, data: fromHex('011E') },
      { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 256 },
      { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1000 },
      { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 65536 },
      { cla: 0x10, ins: 0x2a, p1: 0x9e, p2: 0x9a, data: new Uint8Array(40).fill(3), le: 64 },
      { cla: 0, ins: 0x44, p1: 0, p2: 0 },
      { cla: 0, ins: 0xd6, p1: 0, p2: 0, data: new Uint8Array(1000).fill(9) },
    ];
    for (const command of commands) {
      const wrapped = terminal.wrapCommand(command);
      expect(wrapped[0]).toBe(command.cla | 0x0c);
      const unwrapped = chip.unwrapCommand(wrapped);
      expect(toHex(encodeCommand(unwrapped))).toBe(toHex(encodeCommand(command)));
      const response = { data: new Uint8Array(command.le === 65536 ? 65536 : 5).fill(7), sw: 0x9000 };
      const back = terminal.unwrapResponse(chip.wrapResponse(response));
      expect(back.sw).toBe(0x9000);
      expect(toHex(back.data)).toBe(toHex(response.data));
    }
    expect(toHex(terminal.ssc)).toBe(toHex(chip.ssc));
  });

  it('puts Le in DO97 as 1 or 2 bytes and uses extended length when needed', () => {
    const { terminal } = pair(algorithm);
    const hex = (command: CommandApdu) => toHex(terminal.wrapCommand(command));
    expect(hex({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 256 })).toMatch(/^0CB000000D970100/);
    const extendedLe = hex({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 65536 });
    expect(extendedLe).toMatch(/^0CB0000000000E97020000.{20}0000$/);
    expect(hex({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1000 })).toMatch(/^0CB0000000000E970203E8.{20}0000$/);
    // 250 plain bytes: the short plain command becomes an extended protected one.
    const big = terminal.wrapCommand({ cla: 0, ins: 0xd6, p1: 0, p2: 0, data: new Uint8Array(250) });
    expect(big[4]).toBe(0);
    expect(toHex(big.subarray(-2))).toBe('0000');
  });

  it('uses DO85 without padding indicator for odd INS', () => {
    const { terminal, chip } = pair(algorithm);
    const command = { cla: 0, ins: 0xb1, p1: 0, p2: 0, data: fromHex('54028000'), le: 256 };
    const wrapped = terminal.wrapCommand(command);
    expect(wrapped[5]).toBe(0x85);
    expect(wrapped[6]).toBe(algorithm === '3DES' ? 8 : 16);
    expect(toHex(encodeCommand(chip.unwrapCommand(wrapped)))).toBe(toHex(encodeCommand(command)));
  });

  it('returns a bare error status word (and 6282, end of file with nothing to return), but refuses a bare success', () => {
    for (const sw of ['6987', '6988', '6982', '6A82', '6282']) {
      const { terminal } = pair(algorithm);
      expect(terminal.unwrapResponse(fromHex(sw)).sw).toBe(parseInt(sw, 16));
      // The chip's counter is unknown after an unprotected answer: a new session is needed.
      expect(terminal.inStep).toBe(false);
    }
    for (const sw of ['9000', '6283', '6100']) {
      expect(isKioskError(thrown(() => pair(algorithm).terminal.unwrapResponse(fromHex(sw))), 'CARD_SM_FAILED')).toBe(true);
    }
  });

  it('refuses a trailer that disagrees with DO99, then refuses further use', () => {
    const { terminal, chip } = pair(algorithm);
    chip.unwrapCommand(terminal.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 8 }));
    const response = chip.wrapResponse({ data: new Uint8Array(0), sw: 0x6282 });
    response[response.length - 2] = 0x90;
    response[response.length - 1] = 0x00;
    const err = thrown(() => terminal.unwrapResponse(response));
    expect(isKioskError(err, 'CARD_SM_FAILED') && err.message).toContain('disagrees with protected status 6282');
    expect(isKioskError(thrown(() => terminal.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 8 })), 'CARD_SM_FAILED')).toBe(true);
  });

  it('tells the chip which status word to answer: 6987 for missing SM, 6988 for a wrong MAC', () => {
    const plain = thrown(() => pair(algorithm).chip.unwrapCommand(fromHex('00B0000004')));
    expect(isKioskError(plain, 'CARD_SM_FAILED') && plain.details?.sw).toBe('6987');
    const noMac = thrown(() => pair(algorithm).chip.unwrapCommand(fromHex('0CB000000397010400')));
    expect(isKioskError(noMac, 'CARD_SM_FAILED') && noMac.details?.sw).toBe('6987');
    // Le lies outside the MAC: anything but the prescribed 00 is refused rather than ignored.
    const otherLe = pair(algorithm);
    const withLe04 = otherLe.terminal.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 });
    withLe04[withLe04.length - 1] = 0x04;
    expect(isKioskError(thrown(() => otherLe.chip.unwrapCommand(withLe04)), 'CARD_SM_FAILED')).toBe(true);
    const { terminal, chip } = pair(algorithm);
    const wrapped = terminal.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 });
    wrapped[wrapped.length - 2] = (wrapped[wrapped.length - 2] as number) ^ 1;
    const badMac = thrown(() => chip.unwrapCommand(wrapped));
    expect(isKioskError(badMac, 'CARD_SM_FAILED') && badMac.details?.sw).toBe('6988');
  });

  it('wraps the send sequence counter around', () => {
    const size = algorithm === '3DES' ? 8 : 16;
    const { terminal } = pair(algorithm, new Uint8Array(size).fill(0xff));
    terminal.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 });
    expect(toHex(terminal.ssc)).toBe('00'.repeat(size));
  });
});
