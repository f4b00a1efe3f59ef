import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCommand, encodeCommand, type CommandApdu } from '../../src/smartcard/apdu.js';
import { BacChip } from '../../src/emrtd/access/bac.js';
import { PaceChip } from '../../src/emrtd/access/pace.js';
import { ActiveAuthenticationChip } from '../../src/emrtd/auth/active-authentication.js';
import { ChipAuthenticationChip } from '../../src/emrtd/auth/chip-authentication.js';
import { concatBytes, fromHex, toHex } from '../../src/encoding/bytes.js';
import { ecDomainById, encodePoint, scalarFromBytes } from '../../src/emrtd/crypto/curves.js';
import { selectFileCommand } from '../../src/emrtd/iso7816/file-commands.js';
import {
  dynamicAuthenticationObjects,
  externalAuthenticate,
  generalAuthenticate,
  getChallenge,
  internalAuthenticate,
  MSE_SET_COMPUTATION,
  MSE_SET_MUTUAL,
  mseSetAt,
  mseSetKat,
} from '../../src/emrtd/iso7816/security-commands.js';
import { SecureMessaging } from '../../src/emrtd/sm/secure-messaging.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { ICAO_APPENDIX_D, ICAO_APPENDIX_G1 } from '../../src/testing/icao-9303-vectors.js';

const hex = (command: CommandApdu): string => toHex(encodeCommand(command));
/** id-CA-ECDH-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.3.2.2) as MSE tag 80. */
const CA_AES128_MECHANISM = fromHex('800A04007F00070202030202');

describe('security command builders: ICAO 9303-11 worked examples', () => {
  const { E_IFD_M_IFD } = ICAO_APPENDIX_D;
  const [mse, ga1, ga2, ga3, ga4] = ICAO_APPENDIX_G1.TRANSCRIPT.map((step) => step.command);

  it('BAC (Appendix D.3): GET CHALLENGE and EXTERNAL AUTHENTICATE', () => {
    expect(hex(getChallenge(8))).toBe('0084000008');
    expect(hex(externalAuthenticate(fromHex(E_IFD_M_IFD), 40))).toBe(`0082000028${E_IFD_M_IFD}28`);
  });

  it('PACE (Appendix G.1): MSE:Set AT and the four GENERAL AUTHENTICATE steps, chained but the last', () => {
    expect(hex(mseSetAt(MSE_SET_MUTUAL, fromHex('800A04007F00070202040202830101')))).toBe(mse);
    expect(hex(generalAuthenticate(new Uint8Array(0), true))).toBe(ga1);
    expect(hex(generalAuthenticate(encodeTlv(0x81, fromHex(ICAO_APPENDIX_G1.PK_MAP_IFD)), true))).toBe(ga2);
    expect(hex(generalAuthenticate(encodeTlv(0x83, fromHex(ICAO_APPENDIX_G1.PK_DH_IFD)), true))).toBe(ga3);
    expect(hex(generalAuthenticate(fromHex('8508C2B0BD78D94BA866')))).toBe(ga4);
  });

  it('SELECT EF.COM (Appendix D.4, plain command)', () => {
    expect(hex(selectFileCommand(0x011e))).toBe('00A4020C02011E');
  });

  it('INTERNAL AUTHENTICATE: 00 88 00 00 08 RND.IFD 00 (9303-11 §6.1), and under SM as a recorded passport sent it', () => {
    const challenge = fromHex('96302B0F3D7E7864');
    expect(hex(internalAuthenticate(challenge))).toBe('008800000896302B0F3D7E786400');
    // The recorded exchange of active-authentication.test.ts: the builder's command, wrapped, is the one on the wire.
    const session = SecureMessaging.fromKeys('3DES', fromHex('B99D546108EAA251570876B6D3456DCE'), fromHex('E3857CA24946251C151C540E13F2CD51'), fromHex('00000000000000CC'));
    expect(toHex(session.wrapCommand(internalAuthenticate(challenge)))).toBe('0C88000020871101ED7F8CB47A4EEA086324A7F9DD7427809701008E0897F54BAE49AA71F800');
  });

  // The recorded passport transcripts of chip-authentication.test.ts: each plain command from the builders, wrapped
  // under the recorded session, must give the protected bytes that passport accepted.
  it('CA MSE:Set AT (P1 41) and GENERAL AUTHENTICATE (not chained) under SM, AES-128 without keyId', () => {
    const session = SecureMessaging.fromKeys('AES-128', fromHex('524170DE3419B7AF2F23E45AD6EF9595'), fromHex('97893F5FDC29A5C13A924FE7D8ED44FD'), fromHex('000000000000000000000000000000F0'));
    expect(hex(mseSetAt(MSE_SET_COMPUTATION, CA_AES128_MECHANISM))).toBe('002241A40C800A04007F00070202030202');
    expect(toHex(session.wrapCommand(mseSetAt(MSE_SET_COMPUTATION, CA_AES128_MECHANISM)))).toBe('0C2241A41D8711015D8F69B1EA365CCE4304970DB12421F38E085340D338128085E700');
    session.unwrapResponse(fromHex('990290008E083F5136E82A6C34779000'));
    const domain = ecDomainById(13)!;
    const ephemeral = encodePoint(domain.Point.BASE.multiply(scalarFromBytes(domain, fromHex('80EBAFC8A51BECD4D90BB640EE38C9FD5C12748D28AAA37096B98C4533C4F5F5'))));
    expect(toHex(session.wrapCommand(generalAuthenticate(encodeTlv(0x80, ephemeral))))).toBe(
      '0C860000608751019E18F1BA79D805379752BB560EB70AAC3CE3BC5AFE2FDD4AEB325CA8B578B4A93B9F66A5DF40005F8E878535251D33DD974AAF77FB858773E5799FA9DC1034E89B1150EC7F0BB3DB4BF37A1B9EA4458A9701008E089D204D950C0B95DB00',
    );
  });

  it('CA MSE:Set AT with keyId C3 under SM', () => {
    const session = SecureMessaging.fromKeys('AES-128', fromHex('CC86415F2ED7E8FD663B754265695AE1'), fromHex('581E84B8EE06C4D3EEE30461498D7FB3'), fromHex('000000000000000000000000000000BA'));
    const template = concatBytes(CA_AES128_MECHANISM, fromHex('8401C3'));
    expect(toHex(session.wrapCommand(mseSetAt(MSE_SET_COMPUTATION, template)))).toBe('0C2241A41D871101980953D37F67558690045D78A853B18A8E08929767A2CEF172E200');
  });

  it('CA MSE:Set KAT (P1 41, P2 A6) under SM, 3DES inferred on NIST P-256', () => {
    const session = SecureMessaging.fromKeys(
      'AES-256',
      fromHex('17DA5D46E356F5B31C3D65B1369EF531CA811EFFC76967D2B62335E1AD9FE5CB'),
      fromHex('5CB99A25E6081581FAC80C8DA621087939B6BDE273F2F7C65693B3A0EA3051ED'),
      fromHex('000000000000000000000000000000C6'),
    );
    const domain = ecDomainById(12)!;
    const ephemeral = encodePoint(domain.Point.BASE.multiply(scalarFromBytes(domain, fromHex('D9C3B06A4DCB735351429403FCB56DB520DC882512D775971F724D6112F96586'))));
    expect(hex(mseSetKat(encodeTlv(0x91, ephemeral))).slice(0, 14)).toBe('002241A6439141');
    expect(toHex(session.wrapCommand(mseSetKat(encodeTlv(0x91, ephemeral))))).toBe(
      '0C2241A65D8751013AE386873DF68BD7E9F8D7AB2E696CED29EEB8DA78D502645B5E97D566361341E2EAA56318F6D84BF0BC44F7808AFAF14798D16048AAB03545F017F557D2CCE9DEE724F099E3D643ABD0FB03E567D9B18E08F2D238DEDE5ABBF100',
    );
  });
});

describe('security command builders: what the chips parse (property)', () => {
  const bac = new BacChip(ICAO_APPENDIX_D.MRZ_INFORMATION);
  const pace = new PaceChip({ paceInfo: ICAO_APPENDIX_G1.PACE_INFO, mrzInformation: ICAO_APPENDIX_G1.MRZ_INFORMATION });
  const aa = new ActiveAuthenticationChip(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const ca = new ChipAuthenticationChip({ protocol: '0.4.0.127.0.7.2.2.3.2.2', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey });
  const chips = { bac, pace, aa, ca };
  type ChipName = keyof typeof chips;

  /** Context-specific primitive data objects, as the protocols put inside 7C; long enough together to need extended length. */
  const dataObjects = fc.array(fc.tuple(fc.integer({ min: 0x80, max: 0x9e }), fc.uint8Array({ maxLength: 120 })), { maxLength: 4 });
  const data = fc.uint8Array({ minLength: 1, maxLength: 400 });
  const le = fc.integer({ min: 1, max: 65536 });

  interface Case {
    command: CommandApdu;
    /** The chips whose handles() must take it; every other chip must refuse it. */
    takers: ChipName[];
    /** For GENERAL AUTHENTICATE: the data objects the chip side must read back out of 7C. */
    objects?: [number, Uint8Array][];
  }
  const cases: fc.Arbitrary<Case> = fc.oneof(
    fc.tuple(fc.boolean(), data).map(([mutual, template]): Case => ({
      command: mseSetAt(mutual ? MSE_SET_MUTUAL : MSE_SET_COMPUTATION, template),
      takers: [mutual ? 'pace' : 'ca'],
    })),
    data.map((template): Case => ({ command: mseSetKat(template), takers: ['ca'] })),
    fc.tuple(dataObjects, fc.boolean()).map(([objects, chained]): Case => ({
      command: generalAuthenticate(concatBytes(...objects.map(([tag, value]) => encodeTlv(tag, value))), chained),
      takers: chained ? ['pace'] : ['pace', 'ca'],
      objects,
    })),
    le.map((length): Case => ({ command: getChallenge(length), takers: ['bac'] })),
    fc.tuple(data, le).map(([cryptogram, length]): Case => ({ command: externalAuthenticate(cryptogram, length), takers: ['bac'] })),
    data.map((challenge): Case => ({ command: internalAuthenticate(challenge), takers: ['aa'] })),
  );

  it('round-trips every builder through the APDU encoding to the chip that takes it, and only to that one', () => {
    let runs = 0;
    fc.assert(
      fc.property(cases, ({ command, takers, objects }) => {
        runs++;
        const decoded = decodeCommand(encodeCommand(command));
        expect(decoded).toEqual(command);
        for (const [name, chip] of Object.entries(chips)) expect(chip.handles(decoded), name).toBe(takers.includes(name as ChipName));
        if (objects) expect(dynamicAuthenticationObjects(decoded.data!)?.map((o) => [o.tag, o.value])).toEqual(objects);
      }),
      { seed: 9303, numRuns: 3000 },
    );
    console.log(`security command builders: ${runs} cases round-tripped`);
    expect(runs).toBe(3000);
  });

  it('the chips answer the builders: a challenge of the asked length, a signature for any challenge', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (challenge) => {
        runs++;
        const bacAnswer = new BacChip(ICAO_APPENDIX_D.MRZ_INFORMATION).process(decodeCommand(encodeCommand(getChallenge(8))));
        expect(bacAnswer.response.sw).toBe(0x9000);
        expect(bacAnswer.response.data).toHaveLength(8);
        expect(aa.process(decodeCommand(encodeCommand(internalAuthenticate(challenge)))).response.sw).toBe(0x9000);
      }),
      { seed: 9303, numRuns: 200 },
    );
    console.log(`security command builders: ${runs} chip answers`);
  });
});
