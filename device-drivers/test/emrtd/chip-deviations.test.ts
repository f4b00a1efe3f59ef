import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { decodeCommand } from '../../src/smartcard/apdu.js';
import { ScriptedTransceiver, type ScriptStep } from '../../src/smartcard/scripted-transceiver.js';
import { performBac } from '../../src/emrtd/access/bac.js';
import { concatBytes, fromHex, toHex } from '../../src/encoding/bytes.js';
import { pad } from '../../src/emrtd/crypto/padding.js';
import { DeviationLog } from '../../src/emrtd/deviations.js';
import { selectApplication } from '../../src/emrtd/iso7816/file-commands.js';
import { openAndReadCard, readCardFiles } from '../../src/emrtd/read-card-files.js';
import { createCipherSuite } from '../../src/emrtd/sm/cipher-suite.js';
import { SecureMessaging, SecureMessagingTransceiver, UnprotectedResponseError } from '../../src/emrtd/sm/secure-messaging.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { ICAO_APPENDIX_D } from '../../src/testing/icao-9303-vectors.js';

// Chips of other makers, as virtualsmartcard's ePass emulator answers (docs/verification.md, "Interoperability"):
// scripts of its answers, on the ICAO 9303-11 Appendix D BAC session so that every byte is known in advance.
const { RND_IFD, K_IFD, RND_IC, E_IFD_M_IFD, E_IC_M_IC, KS_ENC, KS_MAC, SSC } = ICAO_APPENDIX_D;
const BAC_OPTIONS = { rndIfd: fromHex(RND_IFD), kIfd: fromHex(K_IFD) };
/** The Appendix D MRZ information (L898902C<3 690806 1 940623 6) as an access key. */
const KEY = { kind: 'mrz' as const, documentNumber: 'L898902C<', dateOfBirth: '690806', dateOfExpiry: '940623' };
const EF_COM = '60145F0104303130375F36063034303030305C026175';
const DG1_TD3 = `615B5F1F58${Buffer.from('P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10').toString('hex').toUpperCase()}`;

type Answer = 'no-do99' | 'conformant' | 'plain' | 'unmacked';

/** Builds the script of a chip that answers in one of the ways `Answer` names, tracking the session's SSC. */
class ChipScript {
  readonly steps: ScriptStep[] = [];
  private ssc = 0n;
  private readonly suite = createCipherSuite('3DES', fromHex(KS_ENC), fromHex(KS_MAC));

  plain(command: string, response: string): this {
    this.steps.push({ command, response });
    return this;
  }

  /** SELECT of the eMRTD application in the clear, then BAC with the Appendix D nonces: a new session at SSC ...C226. */
  bac(): this {
    this.plain('00A4040C07A0000002471001', '9000');
    this.plain('0084000008', `${RND_IC}9000`).plain(`0082000028${E_IFD_M_IFD}28`, `${E_IC_M_IC}9000`);
    this.ssc = BigInt(`0x${SSC}`);
    return this;
  }

  /** A protected command (computed from the plain one at the session's SSC) and the chip's answer. */
  sm(plainCommand: string, answer: Answer, sw: string, data = ''): this {
    const command = new SecureMessaging(this.suite, this.counter(this.ssc)).wrapCommand(decodeCommand(fromHex(plainCommand)));
    const responseSsc = this.counter(this.ssc + 2n);
    this.ssc += 2n;
    const dataDo = data ? encodeTlv(0x87, concatBytes(Uint8Array.of(1), this.suite.encrypt(responseSsc, pad(fromHex(data), 8)))) : new Uint8Array(0);
    const statusDo = answer === 'conformant' ? encodeTlv(0x99, fromHex(sw)) : new Uint8Array(0);
    const mac = encodeTlv(0x8e, this.suite.mac(concatBytes(responseSsc, dataDo, statusDo)));
    const body = answer === 'plain' ? new Uint8Array(0) : answer === 'unmacked' ? dataDo : concatBytes(dataDo, statusDo, mac);
    this.steps.push({ command: toHex(command), response: `${toHex(body)}${sw}` });
    return this;
  }

  private counter(value: bigint): Uint8Array {
    return fromHex(value.toString(16).padStart(16, '0'));
  }
}

/** A channel on the Appendix D session, logging deviations. */
function channelOn(script: ChipScript): { channel: SecureMessagingTransceiver; card: ScriptedTransceiver; log: DeviationLog } {
  const card = new ScriptedTransceiver(script.steps);
  const log = new DeviationLog();
  const session = SecureMessaging.fromKeys('3DES', fromHex(KS_ENC), fromHex(KS_MAC), fromHex(SSC));
  return { channel: new SecureMessagingTransceiver(card, session, log.record), card, log };
}

/** The script after BAC; `sm` steps continue from the Appendix D SSC. */
function afterBac(): ChipScript {
  const script = new ChipScript().bac();
  script.steps.length = 0;
  return script;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('protected responses without DO99', () => {
  it('takes the status from the trailer, still checks the MAC over DO87, and records the deviation', async () => {
    const { channel, log, card } = channelOn(afterBac().sm('00B0000004', 'no-do99', '9000', '60145F01').sm('00A4020C02011E', 'no-do99', '9000'));
    expect(toHex(await channel.transmit(fromHex('00B0000004')))).toBe('60145F019000');
    // No data at all: DO8E alone, its MAC over the SSC only.
    expect(toHex(await channel.transmit(fromHex('00A4020C02011E')))).toBe('9000');
    expect(card.remaining).toBe(0);
    expect(log.entries).toEqual([expect.objectContaining({ code: 'sm-response-without-do99', count: 2 })]);
  });

  it('a conformant response with DO99 is not a deviation', async () => {
    const { channel, log } = channelOn(afterBac().sm('00B0000004', 'conformant', '9000', '60145F01'));
    expect(toHex(await channel.transmit(fromHex('00B0000004')))).toBe('60145F019000');
    expect(log.entries).toEqual([]);
  });

  it('still fails on a wrong MAC, on DO99 cut out of a conformant response, and on a missing MAC', async () => {
    const wrongMac = afterBac().sm('00B0000004', 'no-do99', '9000', '60145F01');
    const step = wrongMac.steps[0]!;
    step.response = `${step.response.slice(0, -6)}${step.response.slice(-6, -4) === '00' ? 'FF' : '00'}9000`;
    expect(isKioskError(await failure(channelOn(wrongMac).channel.transmit(fromHex('00B0000004'))), 'CARD_SM_FAILED')).toBe(true);

    // The MAC of a conformant chip covers DO99: removing DO99 (to forge the status through the trailer) breaks it.
    const stripped = afterBac().sm('00B0000004', 'conformant', '9000', '60145F01');
    stripped.steps[0]!.response = stripped.steps[0]!.response.replace('99029000', '');
    const err = await failure(channelOn(stripped).channel.transmit(fromHex('00B0000004')));
    expect(isKioskError(err, 'CARD_SM_FAILED') && err.message).toContain('MAC does not verify');

    const noMac = afterBac().sm('00B0000004', 'unmacked', '9000', '60145F01');
    expect(isKioskError(await failure(channelOn(noMac).channel.transmit(fromHex('00B0000004'))), 'CARD_SM_FAILED')).toBe(true);
  });
});

describe('answers without secure messaging inside a session', () => {
  it('data without a MAC under a warning is discarded, typed, and ends the session', async () => {
    const { channel } = channelOn(afterBac().sm('00B00000E7', 'unmacked', '6282', EF_COM));
    const err = await failure(channel.transmit(fromHex('00B00000E7')));
    expect(err).toBeInstanceOf(UnprotectedResponseError);
    expect((err as UnprotectedResponseError).sw).toBe(0x6282);
    expect(channel.session.inStep).toBe(false);
  });

  it('a plain status leaves the counters unknown: with `reestablish` the next command goes on a new session', async () => {
    const script = afterBac().sm('00A4020C02011D', 'plain', '6A82');
    script.bac().sm('00A4020C02011E', 'no-do99', '9000');
    const { channel, card, log } = channelOn(script);
    let reopened = 0;
    channel.reestablish = async () => {
      reopened++;
      await selectApplication(card);
      return performBac(card, ICAO_APPENDIX_D.MRZ_INFORMATION, BAC_OPTIONS);
    };
    expect(toHex(await channel.transmit(fromHex('00A4020C02011D')))).toBe('6A82');
    expect(channel.session.inStep).toBe(false);
    expect(toHex(await channel.transmit(fromHex('00A4020C02011E')))).toBe('9000');
    expect(reopened).toBe(1);
    expect(card.remaining).toBe(0);
    expect(log.entries.map((e) => e.code)).toEqual(['sm-unprotected-status', 'sm-response-without-do99']);
  });

  it('without `reestablish` (Active / Chip Authentication after the read) the channel does not reopen anything', async () => {
    const { channel, card } = channelOn(afterBac().sm('00A4020C02011D', 'plain', '6A82'));
    expect(toHex(await channel.transmit(fromHex('00A4020C02011D')))).toBe('6A82');
    // The next command is sent on the same session (no BAC in the script): the script sees it and refuses it.
    const err = await failure(channel.transmit(fromHex('00A4020C02011E')));
    expect(isKioskError(err, 'CARD_TRANSMIT_FAILED') && err.message).toContain('script exhausted');
    expect(card.remaining).toBe(0);
  });
});

describe('reading a chip that answers like the virtualsmartcard ePass emulator', () => {
  /** EF.CardAccess absent (BAC only), the eMRTD application selected and BAC. */
  function start(): ChipScript {
    return new ChipScript().plain('00B09C00E7', '6A82').plain('00A4020C02011C', '6A82').bac();
  }

  it('no SFI (plain 6A82), no DO99, reads past the end unprotected, EF.SOD missing: EF.COM and DG1 read, each deviation recorded', async () => {
    const script = start()
      // EF.COM: READ BINARY by SFI refused in the clear; SELECT then goes on a new session.
      .sm('00B09E00E7', 'plain', '6A82')
      .bac()
      .sm('00A4020C02011E', 'no-do99', '9000')
      // 231 bytes asked of a 22-byte file: 6282 with the data and no MAC. Discarded; new session; header first.
      .sm('00B00000E7', 'unmacked', '6282', EF_COM)
      .bac()
      .sm('00A4020C02011E', 'no-do99', '9000')
      .sm('00B0000004', 'no-do99', '9000', EF_COM.slice(0, 8))
      .sm('00B0000412', 'no-do99', '9000', EF_COM.slice(8))
      // EF.SOD: not there, answered in the clear.
      .sm('00A4020C02011D', 'plain', '6A82')
      .bac()
      .sm('00A4020C020101', 'no-do99', '9000')
      .sm('00B0000004', 'no-do99', '9000', DG1_TD3.slice(0, 8))
      .sm('00B0000459', 'no-do99', '9000', DG1_TD3.slice(8));
    const card = new ScriptedTransceiver(script.steps);
    const { raw, channel } = await openAndReadCard(card, { key: KEY, files: ['EF.COM', 'EF.SOD', 'DG1'], bac: BAC_OPTIONS });
    expect(card.remaining).toBe(0);
    expect(toHex(raw.files.get('EF.COM')!)).toBe(EF_COM);
    expect(toHex(raw.files.get('DG1')!)).toBe(DG1_TD3);
    expect(raw.skipped).toEqual([{ file: 'EF.SOD', reason: 'not on the card' }]);
    expect(raw.access).toMatchObject({ protocol: 'BAC', keyKind: 'mrz' });
    expect(raw.restarts).toBe(0);
    expect(Object.fromEntries(raw.deviations.map((d) => [d.code, d.count]))).toEqual({
      'sm-unprotected-status': 2,
      'sm-response-without-do99': 7,
      'read-past-end-unprotected': 1,
    });
    // Active / Chip Authentication get a channel that no longer reopens sessions by itself.
    expect(channel.reestablish).toBeUndefined();
  });

  it('an empty file (6282 with nothing, in the clear) is skipped and recorded, and the read goes on', async () => {
    const script = start()
      .sm('00B09D00E7', 'plain', '6A82')
      .bac()
      .sm('00A4020C02011D', 'no-do99', '9000')
      .sm('00B00000E7', 'plain', '6282')
      .bac()
      .sm('00A4020C020101', 'no-do99', '9000')
      .sm('00B00000E7', 'no-do99', '9000', DG1_TD3);
    const card = new ScriptedTransceiver(script.steps);
    const raw = await readCardFiles(card, { key: KEY, files: ['EF.SOD', 'DG1'], bac: BAC_OPTIONS });
    expect(card.remaining).toBe(0);
    expect([...raw.files.keys()]).toEqual(['DG1']);
    expect(raw.skipped.map((x) => x.file)).toEqual(['EF.SOD']);
    expect(raw.skipped[0]?.reason).toContain('empty or truncated on the card');
    expect(raw.deviations.map((d) => d.code)).toEqual(['sm-unprotected-status', 'sm-response-without-do99', 'empty-file']);
  });

  it('a file shorter than its header announces, on a chip that leaves the end unprotected, is skipped', async () => {
    const script = start()
      .sm('00B09E00E7', 'plain', '6A82')
      .bac()
      .sm('00A4020C02011E', 'no-do99', '9000')
      .sm('00B00000E7', 'unmacked', '6282', EF_COM.slice(0, 20))
      .bac()
      .sm('00A4020C02011E', 'no-do99', '9000')
      .sm('00B0000004', 'no-do99', '9000', EF_COM.slice(0, 8))
      // The header says 22 bytes; the chip has 10: the exact read runs past its end.
      .sm('00B0000412', 'unmacked', '6282', EF_COM.slice(8, 20));
    const card = new ScriptedTransceiver(script.steps);
    const raw = await readCardFiles(card, { key: KEY, files: ['EF.COM'], bac: BAC_OPTIONS });
    expect(card.remaining).toBe(0);
    expect(raw.files.size).toBe(0);
    expect(raw.skipped.map((x) => x.file)).toEqual(['EF.COM']);
    expect(raw.skipped[0]?.reason).toContain('truncated on the card');
    expect(raw.deviations.map((d) => d.code)).toContain('empty-file');
  });
});
