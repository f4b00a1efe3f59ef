import { randomBytes } from 'node:crypto';
import { contactlessAtr, type VirtualCard } from './virtual-card.js';

/**
 * A minimal software card for checking a PC/SC installation end to end (pcscd + vpcd + our transport) without a
 * real card. It answers SELECT by AID for its own AID (6A82 for any other), GET CHALLENGE with fresh random bytes,
 * and 6D00 / 6E00 for anything else, as a real card would. The eMRTD virtual card is built on the same interface.
 */
export const PROBE_CARD_AID = Uint8Array.from([0xf0, 0x4b, 0x49, 0x4f, 0x53, 0x4b, 0x01]); // F0 "KIOSK" 01

const sw = (value: number, data: Uint8Array = new Uint8Array(0)): Uint8Array =>
  Uint8Array.from([...data, value >> 8, value & 0xff]);

export class ProbeCard implements VirtualCard {
  readonly atr = contactlessAtr(Uint8Array.from([0x4b, 0x49, 0x4f, 0x53, 0x4b])); // "KIOSK"
  selected = false;
  commands = 0;

  reset(): void {
    this.selected = false;
  }

  powerOff(): void {
    this.selected = false;
  }

  process(command: Uint8Array): Uint8Array {
    this.commands++;
    if (command.length < 4) return sw(0x6700);
    const [cla, ins, p1] = command as unknown as [number, number, number];
    if (cla !== 0x00) return sw(0x6e00);
    if (ins === 0xa4 && p1 === 0x04) {
      const lc = command[4] ?? 0;
      const aid = command.subarray(5, 5 + lc);
      this.selected = aid.length === PROBE_CARD_AID.length && aid.every((b, i) => b === PROBE_CARD_AID[i]);
      return sw(this.selected ? 0x9000 : 0x6a82);
    }
    if (ins === 0x84) {
      const le = command[4] || 256;
      return sw(0x9000, randomBytes(Math.min(le, 32)));
    }
    return sw(0x6d00);
  }
}
