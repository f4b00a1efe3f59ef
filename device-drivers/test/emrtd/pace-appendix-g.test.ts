import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeResponse } from '../../src/smartcard/apdu.js';
import { ScriptedTransceiver } from '../../src/smartcard/scripted-transceiver.js';
import { PaceChip, pacePasswordKey, performPace } from '../../src/emrtd/access/pace.js';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { aesCbcDecrypt, aesCmac8 } from '../../src/emrtd/crypto/aes.js';
import { decodePoint, ecDomainById, encodePoint, xCoordinate } from '../../src/emrtd/crypto/curves.js';
import { deriveKey, KDF_ENC, KDF_MAC, KDF_PACE } from '../../src/emrtd/crypto/kdf.js';
import { ICAO_APPENDIX_G1 } from '../../src/testing/icao-9303-vectors.js';

// ICAO Doc 9303 Part 11, Appendix G.1: PACE ECDH generic mapping on brainpoolP256r1, AES-128, password = MRZ.
const { MRZ_INFORMATION, PACE_INFO, NONCE, SK_MAP_IFD, PK_MAP_IFD, SK_MAP_IC, PK_MAP_IC, SK_DH_IFD, PK_DH_IFD, SK_DH_IC, PK_DH_IC, SHARED_SECRET, KS_ENC, KS_MAC, TRANSCRIPT } = ICAO_APPENDIX_G1;

const bp256 = ecDomainById(13)!;
const point = (hex: string) => decodePoint(bp256, fromHex(hex))!;
const scalar = (hex: string) => BigInt(`0x${hex}`);

describe('ICAO 9303-11 Appendix G.1: intermediate values', () => {
  const kPi = deriveKey(pacePasswordKey({ kind: 'mrz', mrzInformation: MRZ_INFORMATION }), 'AES-128', KDF_PACE);

  it('derives the password key and K_pi, and decrypts the nonce', () => {
    expect(toHex(pacePasswordKey({ kind: 'mrz', mrzInformation: MRZ_INFORMATION }))).toBe('7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD');
    expect(toHex(kPi)).toBe('89DED1B26624EC1E634C1989302849DD');
    expect(toHex(aesCbcDecrypt(kPi, new Uint8Array(16), fromHex('95A3A016522EE98D01E76CB6B98B42C3')))).toBe(NONCE);
  });

  it('computes the mapping keys, H and the mapped generator', () => {
    expect(toHex(encodePoint(bp256.Point.BASE.multiply(scalar(SK_MAP_IFD))))).toBe(PK_MAP_IFD);
    expect(toHex(encodePoint(bp256.Point.BASE.multiply(scalar(SK_MAP_IC))))).toBe(PK_MAP_IC);
    const h = point(PK_MAP_IC).multiply(scalar(SK_MAP_IFD));
    expect(h.equals(point(PK_MAP_IFD).multiply(scalar(SK_MAP_IC)))).toBe(true);
    expect(toHex(encodePoint(h))).toBe('0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD50840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181');
    const generator = bp256.Point.BASE.multiply(scalar(NONCE)).add(h);
    expect(toHex(encodePoint(generator))).toBe('048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E28C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522');
    expect(toHex(encodePoint(generator.multiply(scalar(SK_DH_IFD))))).toBe(PK_DH_IFD);
    expect(toHex(encodePoint(generator.multiply(scalar(SK_DH_IC))))).toBe(PK_DH_IC);
  });

  it('computes the shared secret, session keys and authentication tokens', () => {
    const shared = xCoordinate(bp256, point(PK_DH_IC).multiply(scalar(SK_DH_IFD)));
    expect(toHex(shared)).toBe(SHARED_SECRET);
    expect(toHex(deriveKey(shared, 'AES-128', KDF_ENC))).toBe(KS_ENC);
    expect(toHex(deriveKey(shared, 'AES-128', KDF_MAC))).toBe(KS_MAC);
    const publicKey = (pk: string) => fromHex(`7F494F060A04007F00070202040202864104${pk.slice(2)}`);
    expect(toHex(aesCmac8(fromHex(KS_MAC), publicKey(PK_DH_IC)))).toBe('C2B0BD78D94BA866');
    expect(toHex(aesCmac8(fromHex(KS_MAC), publicKey(PK_DH_IFD)))).toBe('3ABB9674BCE93C08');
  });
});

describe('ICAO 9303-11 Appendix G.1: transcript', () => {
  it('runs the terminal byte for byte and opens an AES-128 session with SSC 0', async () => {
    const card = new ScriptedTransceiver(TRANSCRIPT);
    const session = await performPace(
      card,
      { paceInfo: PACE_INFO, password: { kind: 'mrz', mrzInformation: MRZ_INFORMATION } },
      // The Appendix G MSE:Set AT carries no parameterId (tag 84).
      { mapPrivateKey: fromHex(SK_MAP_IFD), agreementPrivateKey: fromHex(SK_DH_IFD), sendParameterId: false },
    );
    expect(card.remaining).toBe(0);
    expect(session.algorithm).toBe('AES-128');
    expect(toHex(session.ssc)).toBe('00'.repeat(16));

    // Secondary, unofficial AES SM values for the G.1 keys (reference section B): SELECT EF.COM at SSC 1,
    // its answer at SSC 2, READ BINARY of 4 bytes at SSC 3.
    expect(toHex(session.wrapCommand({ cla: 0, ins: 0xa4, p1: 2, p2: 0x0c, data: fromHex('011E') }))).toBe(
      '0CA4020C1D871101EE0E4724F4465C1BE9C2F73ABDD73A3D8E08835D1B54575C955F00',
    );
    expect(session.unwrapResponse(fromHex('990290008E08BEA7B381C494A0799000')).sw).toBe(0x9000);
    expect(toHex(session.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 }))).toBe('0CB000000D9701048E08AA6BA54F44DF836400');
  });

  it('answers as the chip byte for byte', () => {
    const chip = new PaceChip(
      { paceInfo: PACE_INFO, mrzInformation: MRZ_INFORMATION },
      { nonce: fromHex(NONCE), mapPrivateKey: fromHex(SK_MAP_IC), agreementPrivateKey: fromHex(SK_DH_IC) },
    );
    const results = TRANSCRIPT.map((step) => chip.process(decodeCommand(fromHex(step.command))));
    expect(results.map((r) => toHex(encodeResponse(r.response.data, r.response.sw)))).toEqual(TRANSCRIPT.map((s) => s.response));
    expect(results.slice(0, -1).every((r) => r.session === undefined)).toBe(true);
    expect(results.at(-1)?.session?.algorithm).toBe('AES-128');
  });

  it('sends tag 84 with the parameterId by default (CCCD chips answer 6A87 without it)', async () => {
    const card = new ScriptedTransceiver([{ command: '0022C1A412800A04007F0007020204020283010284010D', response: '6A87' }]);
    await expect(performPace(card, { paceInfo: PACE_INFO, password: { kind: 'can', can: '123456' } })).rejects.toMatchObject({ code: 'CARD_STATUS_ERROR' });
    expect(card.remaining).toBe(0);
  });
});
