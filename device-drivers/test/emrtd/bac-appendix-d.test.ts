import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, encodeResponse } from '../../src/smartcard/apdu.js';
import { ScriptedTransceiver } from '../../src/smartcard/scripted-transceiver.js';
import { BacChip, deriveBacKeys, performBac } from '../../src/emrtd/access/bac.js';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { retailMac, tdesCbcDecrypt, tdesCbcEncrypt } from '../../src/emrtd/crypto/des.js';
import { deriveKey, KDF_ENC, KDF_MAC } from '../../src/emrtd/crypto/kdf.js';
import { SecureMessaging, SecureMessagingTransceiver } from '../../src/emrtd/sm/secure-messaging.js';
import { ICAO_APPENDIX_D } from '../../src/testing/icao-9303-vectors.js';

// ICAO Doc 9303 Part 11, Appendix D (BAC and 3DES secure messaging worked example).
const { MRZ_INFORMATION, RND_IFD, K_IFD, RND_IC, K_IC, E_IFD_M_IFD, E_IC_M_IC, KS_ENC, KS_MAC, SSC, EF_COM, SM_EXCHANGES } = ICAO_APPENDIX_D;

const BAC_STEPS = [
  { command: '0084000008', response: `${RND_IC}9000` },
  { command: `0082000028${E_IFD_M_IFD}28`, response: `${E_IC_M_IC}9000` },
];

describe('ICAO 9303-11 Appendix D.1-D.2: BAC keys', () => {
  it('derives K_enc and K_mac (odd parity) from MRZ_information', () => {
    const keys = deriveBacKeys(MRZ_INFORMATION);
    expect(toHex(keys.kEnc)).toBe('AB94FDECF2674FDFB9B391F85D7F76F2');
    expect(toHex(keys.kMac)).toBe('7962D9ECE03D1ACD4C76089DCE131543');
  });

  it('derives the session keys from K.IFD xor K.IC', () => {
    const seed = fromHex(K_IFD).map((b, i) => b ^ (fromHex(K_IC)[i] as number));
    expect(toHex(seed)).toBe('0036D272F5C350ACAC50C3F572D23600');
    expect(toHex(deriveKey(seed, '3DES', KDF_ENC))).toBe(KS_ENC);
    expect(toHex(deriveKey(seed, '3DES', KDF_MAC))).toBe(KS_MAC);
  });

  it('computes the EXTERNAL AUTHENTICATE cryptogram and MAC, and opens the chip answer', () => {
    const { kEnc, kMac } = deriveBacKeys(MRZ_INFORMATION);
    const e = tdesCbcEncrypt(kEnc, new Uint8Array(8), fromHex(RND_IFD + RND_IC + K_IFD));
    expect(toHex(e)).toBe(E_IFD_M_IFD.slice(0, 64));
    expect(toHex(retailMac(kMac, e))).toBe('5F1448EEA8AD90A7');
    const eIc = fromHex(E_IC_M_IC.slice(0, 64));
    expect(toHex(retailMac(kMac, eIc))).toBe('2F2D235D074D7449');
    expect(toHex(tdesCbcDecrypt(kEnc, new Uint8Array(8), eIc))).toBe(RND_IC + RND_IFD + K_IC);
  });
});

describe('ICAO 9303-11 Appendix D.3-D.4: terminal transcript', () => {
  it('runs BAC and the three protected commands byte for byte, ending with EF.COM and SSC ...C22C', async () => {
    const card = new ScriptedTransceiver([...BAC_STEPS, ...SM_EXCHANGES.map((x) => ({ command: x.protected, response: x.response }))]);
    const session = await performBac(card, MRZ_INFORMATION, { rndIfd: fromHex(RND_IFD), kIfd: fromHex(K_IFD) });
    expect(toHex(session.ssc)).toBe(SSC);
    expect(session.algorithm).toBe('3DES');

    const sm = new SecureMessagingTransceiver(card, session);
    const answers: string[] = [];
    for (const x of SM_EXCHANGES) answers.push(toHex(await sm.transmit(fromHex(x.plain))));
    expect(answers).toEqual(SM_EXCHANGES.map((x) => `${x.data}9000`));
    expect(answers[1]!.slice(0, 8) + answers[2]!.slice(0, -4)).toBe(EF_COM);
    expect(toHex(session.ssc)).toBe('887022120C06C22C');
    expect(card.remaining).toBe(0);
  });

  it('wraps each command with the SSC incremented first (D.4 intermediate SSCs)', () => {
    const session = SecureMessaging.fromKeys('3DES', fromHex(KS_ENC), fromHex(KS_MAC), fromHex(SSC));
    const sscs: string[] = [];
    for (const x of SM_EXCHANGES) {
      expect(toHex(session.wrapCommand(decodeCommand(fromHex(x.plain))))).toBe(x.protected);
      sscs.push(toHex(session.ssc));
      session.unwrapResponse(fromHex(x.response));
      sscs.push(toHex(session.ssc));
    }
    expect(sscs).toEqual(['887022120C06C227', '887022120C06C228', '887022120C06C229', '887022120C06C22A', '887022120C06C22B', '887022120C06C22C']);
  });
});

describe('ICAO 9303-11 Appendix D: chip side', () => {
  it('answers GET CHALLENGE and EXTERNAL AUTHENTICATE byte for byte and opens the same session', () => {
    const chip = new BacChip(MRZ_INFORMATION, { rndIc: [fromHex(RND_IC)], kIc: fromHex(K_IC) });
    const answers = BAC_STEPS.map((step) => {
      const result = chip.process(decodeCommand(fromHex(step.command)));
      return { hex: toHex(encodeResponse(result.response.data, result.response.sw)), session: result.session };
    });
    expect(answers.map((a) => a.hex)).toEqual(BAC_STEPS.map((s) => s.response));
    const session = answers[1]?.session;
    expect(session && toHex(session.ssc)).toBe(SSC);

    for (const x of SM_EXCHANGES) {
      const command = session!.unwrapCommand(fromHex(x.protected));
      expect(toHex(encodeCommand(command))).toBe(x.plain);
      expect(toHex(session!.wrapResponse({ data: fromHex(x.data), sw: 0x9000 }))).toBe(x.response);
    }
  });

  it('answers 6300 to a cryptogram made from another MRZ and gives no session', () => {
    const chip = new BacChip(MRZ_INFORMATION, { rndIc: [fromHex(RND_IC)] });
    chip.process(decodeCommand(fromHex('0084000008')));
    const other = deriveBacKeys('L898902C<369080619406244');
    const e = tdesCbcEncrypt(other.kEnc, new Uint8Array(8), fromHex(RND_IFD + RND_IC + K_IFD));
    const data = Uint8Array.from([...e, ...retailMac(other.kMac, e)]);
    const result = chip.process({ cla: 0, ins: 0x82, p1: 0, p2: 0, data, le: 40 });
    expect(result.response.sw).toBe(0x6300);
    expect(result.session).toBeUndefined();
  });
});
