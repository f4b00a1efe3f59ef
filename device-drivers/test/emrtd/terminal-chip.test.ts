import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { decodeResponse, encodeCommand, type CommandApdu } from '../../src/smartcard/apdu.js';
import type { ApduTransceiver } from '../../src/smartcard/transceiver.js';
import { ScriptedTransceiver } from '../../src/smartcard/scripted-transceiver.js';
import { BacChip, performBac } from '../../src/emrtd/access/bac.js';
import { PaceChip, performPace, type PacePassword } from '../../src/emrtd/access/pace.js';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import type { KeyAlgorithm } from '../../src/emrtd/crypto/kdf.js';
import type { PaceInfo } from '../../src/emrtd/security-infos-types.js';
import { SecureMessagingTransceiver } from '../../src/emrtd/sm/secure-messaging.js';
import { BitFlippingTransceiver, TestChip } from './test-chip.js';

// Synthetic CCCD-like holder (reference D.3): docNo9 093000123, DOB 930105, DOE 330105, CAN = last 6 ID digits.
const MRZ_INFORMATION = '093000123693010543301052';
const CAN = '000123';
const OID_SUFFIX: Record<KeyAlgorithm, number> = { '3DES': 1, 'AES-128': 2, 'AES-192': 3, 'AES-256': 4 };
const paceInfo = (algorithm: KeyAlgorithm, parameterId: number): PaceInfo => ({
  kind: 'pace',
  protocol: `0.4.0.127.0.7.2.2.4.2.${OID_SUFFIX[algorithm]}`,
  version: 2,
  parameterId,
});

async function transmit(card: ApduTransceiver, command: CommandApdu): Promise<{ data: Uint8Array; sw: number }> {
  return decodeResponse(await card.transmit(encodeCommand(command)));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Several SM round trips, including extended Le 65536 and a command with more than 255 data bytes. */
async function exerciseSession(chip: TestChip, sm: SecureMessagingTransceiver): Promise<void> {
  expect((await transmit(sm, { cla: 0, ins: 0xa4, p1: 2, p2: 0x0c, data: fromHex('011E') })).sw).toBe(0x9000);
  expect((await transmit(sm, { cla: 0, ins: 0xa4, p1: 2, p2: 0x0c, data: fromHex('010B') })).sw).toBe(0x6a82);

  const short = await transmit(sm, { cla: 0, ins: 0xb0, p1: 0x01, p2: 0x00, le: 0xdf });
  expect(short.sw).toBe(0x9000);
  expect(toHex(short.data)).toBe(toHex(chip.file.slice(0x100, 0x100 + 0xdf)));
  expect(chip.received.at(-1)?.length).toBeLessThan(261);

  const whole = await transmit(sm, { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 65536 });
  expect(whole.sw).toBe(0x9000);
  expect(whole.data.length).toBe(65536);
  expect(toHex(whole.data)).toBe(toHex(chip.file.slice(0, 65536)));
  const extendedRead = chip.received.at(-1)!;
  expect(extendedRead[4]).toBe(0); // extended Lc marker
  expect(toHex(extendedRead.subarray(-2))).toBe('0000'); // protected Le 0000
  expect(chip.commands.at(-1)?.le).toBe(65536);

  const update = Uint8Array.from({ length: 300 }, (_, i) => (255 - i) & 0xff);
  expect((await transmit(sm, { cla: 0, ins: 0xd6, p1: 0x02, p2: 0x00, data: update })).sw).toBe(0x9000);
  expect(chip.received.at(-1)![4]).toBe(0);
  expect(toHex(chip.file.slice(0x200, 0x200 + 300))).toBe(toHex(update));
  const readBack = await transmit(sm, { cla: 0, ins: 0xb0, p1: 0x02, p2: 0x00, le: 300 });
  expect(toHex(readBack.data)).toBe(toHex(update));

  expect(toHex(sm.session.ssc)).toBe(toHex(chip.session!.ssc));
}

describe('BAC and 3DES secure messaging, terminal against chip', () => {
  it('authenticates and carries protected commands', async () => {
    const chip = new TestChip(new BacChip(MRZ_INFORMATION));
    const session = await performBac(chip, MRZ_INFORMATION);
    expect(session.algorithm).toBe('3DES');
    await exerciseSession(chip, new SecureMessagingTransceiver(chip, session));
  });

  it('reports a wrong MRZ as CARD_ACCESS_DENIED with the status word', async () => {
    const chip = new TestChip(new BacChip(MRZ_INFORMATION));
    const err = await rejection(performBac(chip, '093000123693010543301060'));
    expect(isKioskError(err, 'CARD_ACCESS_DENIED')).toBe(true);
    expect((err as Error).message).toMatch(/^access key rejected.*6300/);
    expect(chip.session).toBeUndefined();
  });

  // EXTERNAL AUTHENTICATE of Appendix D with RND.IFD / K.IFD injected; only the chip's answer varies.
  const D_MRZ = 'L898902C<369080619406236';
  const D_OPTIONS = { rndIfd: fromHex('781723860C06C226'), kIfd: fromHex('0B795240CB7049B01C19B33E32804F0B') };
  const script = (answer: string) =>
    new ScriptedTransceiver([
      { command: '0084000008', response: '4608F919887022129000' },
      { command: '008200002872C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A728', response: answer },
    ]);

  it.each(['6300', '63CF', '6982', '6988'])('maps SW %s at EXTERNAL AUTHENTICATE to CARD_ACCESS_DENIED', async (sw) => {
    const err = await rejection(performBac(script(sw), D_MRZ, D_OPTIONS));
    expect(isKioskError(err, 'CARD_ACCESS_DENIED')).toBe(true);
    expect((err as Error).message).toContain(`access key rejected: BAC EXTERNAL AUTHENTICATE answered SW ${sw}`);
  });

  it('maps other status words to CARD_STATUS_ERROR and a forged chip cryptogram to CARD_SM_FAILED', async () => {
    expect(isKioskError(await rejection(performBac(script('6A80'), D_MRZ, D_OPTIONS)), 'CARD_STATUS_ERROR')).toBe(true);
    const forged = '46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D74489000';
    expect(isKioskError(await rejection(performBac(script(forged), D_MRZ, D_OPTIONS)), 'CARD_SM_FAILED')).toBe(true);
  });
});

describe.each([
  { algorithm: 'AES-128', parameterId: 12 },
  { algorithm: 'AES-128', parameterId: 13 },
  { algorithm: 'AES-192', parameterId: 13 },
  { algorithm: 'AES-256', parameterId: 13 },
  { algorithm: '3DES', parameterId: 13 },
  { algorithm: 'AES-192', parameterId: 14 },
  { algorithm: 'AES-256', parameterId: 15 },
  { algorithm: 'AES-256', parameterId: 16 },
  { algorithm: 'AES-256', parameterId: 17 },
  { algorithm: 'AES-256', parameterId: 18 },
] as const)('PACE $algorithm on parameter id $parameterId, terminal against chip', ({ algorithm, parameterId }) => {
  const info = paceInfo(algorithm, parameterId);
  const newChip = () => new TestChip(new PaceChip({ paceInfo: info, can: CAN, mrzInformation: MRZ_INFORMATION }));
  const passwords: PacePassword[] = [
    { kind: 'can', can: CAN },
    { kind: 'mrz', mrzInformation: MRZ_INFORMATION },
  ];

  it.each(passwords)('authenticates with the $kind and carries protected commands', async (password) => {
    const chip = newChip();
    const session = await performPace(chip, { paceInfo: info, password });
    expect(session.algorithm).toBe(algorithm);
    await exerciseSession(chip, new SecureMessagingTransceiver(chip, session));
  });

  it.each([
    { kind: 'can', can: '000124' },
    { kind: 'mrz', mrzInformation: '093000123693010543301060' },
  ] as PacePassword[])('reports a wrong $kind as CARD_ACCESS_DENIED and the chip opens no session', async (password) => {
    const chip = newChip();
    const err = await rejection(performPace(chip, { paceInfo: info, password }));
    expect(isKioskError(err, 'CARD_ACCESS_DENIED')).toBe(true);
    expect((err as Error).message).toMatch(/^access key rejected.*6300/);
    expect(chip.session).toBeUndefined();
  });
});

describe('a flipped bit in a protected response', () => {
  const setups = {
    BAC: async () => {
      const chip = new TestChip(new BacChip(MRZ_INFORMATION));
      return { chip, session: await performBac(chip, MRZ_INFORMATION) };
    },
    PACE: async () => {
      const chip = new TestChip(new PaceChip({ paceInfo: paceInfo('AES-128', 13), can: CAN }));
      return { chip, session: await performPace(chip, { paceInfo: paceInfo('AES-128', 13), password: { kind: 'can', can: CAN } }) };
    },
  };
  // From the end of "87 L 01 <cryptogram> 99 02 90 00 8E 08 <MAC> 90 00": SW, MAC, DO99 value, cryptogram.
  const positions = { 'status word': 0, MAC: 4, DO99: 12, cryptogram: 40, 'DO87 header': 2 + 10 + 4 + 224 + 1 };

  for (const [name, setup] of Object.entries(setups)) {
    it.each(Object.entries(positions))(`${name}: in the %s fails with CARD_SM_FAILED, no data, session closed`, async (_where, byteFromEnd) => {
      const { chip, session } = await setup();
      const sm = new SecureMessagingTransceiver(new BitFlippingTransceiver(chip, 0, byteFromEnd), session);
      const err = await rejection(sm.transmit(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 0xdf })));
      expect(isKioskError(err, 'CARD_SM_FAILED')).toBe(true);
      const after = await rejection(sm.transmit(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 })));
      expect(isKioskError(after, 'CARD_SM_FAILED')).toBe(true);
    });
  }
});

describe('PACE parameters the terminal does not support', () => {
  const password: PacePassword = { kind: 'can', can: CAN };
  it.each([
    { why: 'DH generic mapping', info: { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.1.2', version: 2, parameterId: 2 } },
    { why: 'ECDH integrated mapping', info: { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.4.2', version: 2, parameterId: 13 } },
    { why: 'chip authentication mapping', info: { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.6.2', version: 2, parameterId: 13 } },
    { why: 'version 1', info: { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.2.2', version: 1, parameterId: 13 } },
    { why: 'a DH group id', info: { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.2.2', version: 2, parameterId: 2 } },
    { why: 'no parameterId', info: { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.2.2', version: 2, parameterId: undefined } },
  ] as { why: string; info: PaceInfo }[])('$why -> CARD_UNSUPPORTED before any command', async ({ info }) => {
    const card = new ScriptedTransceiver([]);
    expect(isKioskError(await rejection(performPace(card, { paceInfo: info, password })), 'CARD_UNSUPPORTED')).toBe(true);
  });
});

describe('PACE chip refusals', () => {
  const info = paceInfo('AES-128', 13);

  it('answers 6A88 for a password it does not hold and 6985 for GENERAL AUTHENTICATE out of order', async () => {
    const chip = new TestChip(new PaceChip({ paceInfo: info, can: CAN }));
    expect(isKioskError(await rejection(performPace(chip, { paceInfo: info, password: { kind: 'mrz', mrzInformation: MRZ_INFORMATION } })), 'CARD_STATUS_ERROR')).toBe(true);
    expect((await transmit(chip, { cla: 0x10, ins: 0x86, p1: 0, p2: 0, data: fromHex('7C00'), le: 256 })).sw).toBe(0x6985);
  });

  it('answers 6A80 to a mapping key that is not on the curve', async () => {
    const pace = new PaceChip({ paceInfo: info, can: CAN });
    const chip = new TestChip(pace);
    expect((await transmit(chip, { cla: 0, ins: 0x22, p1: 0xc1, p2: 0xa4, data: fromHex('800A04007F00070202040202830102') })).sw).toBe(0x9000);
    expect((await transmit(chip, { cla: 0x10, ins: 0x86, p1: 0, p2: 0, data: fromHex('7C00'), le: 256 })).sw).toBe(0x9000);
    const offCurve = Uint8Array.from([0x04, ...new Uint8Array(64).fill(1)]);
    const mapping = await transmit(chip, { cla: 0x10, ins: 0x86, p1: 0, p2: 0, data: Uint8Array.from([0x7c, 0x43, 0x81, 0x41, ...offCurve]), le: 256 });
    expect(mapping.sw).toBe(0x6a80);
  });
});
