import { describe, expect, it } from 'vitest';
import { ScriptedTransceiver } from '../src/smartcard/scripted-transceiver.js';
import { T0GetResponseTransceiver } from '../src/smartcard/t0-get-response.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('T0GetResponseTransceiver', () => {
  it('fetches 61xx data with GET RESPONSE, across several chained answers', async () => {
    const card = new ScriptedTransceiver([
      { command: '0CB000000D9701048E08ED6705417E96BA5500', response: '6110' },
      { command: '00C0000010', response: '8709019FF0EC34F992265199029000 6104' },
      { command: '00C0000004', response: '8E08AD55 9000' },
    ]);
    const r = await new T0GetResponseTransceiver(card).transmit(Uint8Array.from(Buffer.from('0CB000000D9701048E08ED6705417E96BA5500', 'hex')));
    expect(hex(r)).toBe('8709019FF0EC34F9922651990290008E08AD559000');
    expect(card.remaining).toBe(0);
  });

  it('resends with the Le a 6Cxx answer names', async () => {
    const card = new ScriptedTransceiver([
      { command: '00B0000000', response: '6C05' },
      { command: '00B0000005', response: '0102030405 9000' },
    ]);
    expect(hex(await new T0GetResponseTransceiver(card).transmit(Uint8Array.from([0, 0xb0, 0, 0, 0])))).toBe('01020304059000');
  });

  it('passes other answers through untouched', async () => {
    const card = new ScriptedTransceiver([{ command: '00A4020C02011E', response: '6A82' }]);
    expect(hex(await new T0GetResponseTransceiver(card).transmit(Uint8Array.from([0, 0xa4, 2, 0x0c, 2, 1, 0x1e])))).toBe('6A82');
  });
});
