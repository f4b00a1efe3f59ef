import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { decodeResponse, encodeCommand, encodeResponse, type CommandApdu } from '../../../src/smartcard/apdu.js';
import type { ApduTransceiver } from '../../../src/smartcard/transceiver.js';
import { ScriptedTransceiver } from '../../../src/smartcard/scripted-transceiver.js';
import { ChipAuthenticationChip, performChipAuthentication, readEcPublicKey, type ChipAuthenticationResult } from '../../../src/emrtd/auth/chip-authentication.js';
import { concatBytes, fromHex, toHex } from '../../../src/encoding/bytes.js';
import type { KeyAlgorithm } from '../../../src/emrtd/crypto/kdf.js';
import type { ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo } from '../../../src/emrtd/security-infos-types.js';
import { SecureMessaging, SecureMessagingTransceiver } from '../../../src/emrtd/sm/secure-messaging.js';
import { decodeTlv, decodeTlvList, encodeTlv } from '../../../src/encoding/tlv.js';
import { openWithBac, openWithPace, rejection, type ChipProtocol, type OpenCard } from './auth-test-card.js';

const ID_PK_ECDH = '0.4.0.127.0.7.2.2.1.2';
const CA_OID: Record<KeyAlgorithm, string> = {
  '3DES': '0.4.0.127.0.7.2.2.3.2.1',
  'AES-128': '0.4.0.127.0.7.2.2.3.2.2',
  'AES-192': '0.4.0.127.0.7.2.2.3.2.3',
  'AES-256': '0.4.0.127.0.7.2.2.3.2.4',
};

const caInfo = (algorithm: KeyAlgorithm, keyId?: number): ChipAuthenticationInfo => ({ kind: 'chip-authentication', protocol: CA_OID[algorithm], version: 1, keyId });
const publicKeyInfo = (spki: Uint8Array, keyId?: number): ChipAuthenticationPublicKeyInfo => ({
  kind: 'chip-authentication-public-key',
  protocol: ID_PK_ECDH,
  subjectPublicKeyInfo: spki,
  keyId,
});

interface KeyPair {
  privateKey: KeyObject;
  spki: Uint8Array;
}

function ecKeyPair(namedCurve: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}

const CURVES = { brainpoolP256r1: ecKeyPair('brainpoolP256r1'), 'NIST P-256': ecKeyPair('prime256v1') };

/** The ChipAuthenticationPublicKeyInfo of a DG14 (6E { SET { SecurityInfo... } }): its SPKI bytes and keyId. */
function caPublicKeyOf(dg14: Uint8Array): ChipAuthenticationPublicKeyInfo {
  const securityInfos = decodeTlv(decodeTlv(dg14).value);
  for (const info of decodeTlvList(securityInfos.value)) {
    const [oid, spki, keyId] = decodeTlvList(info.value);
    if (oid && spki && toHex(oid.value) === '04007F000702020102') {
      return publicKeyInfo(info.value.subarray(spki.start, spki.end), keyId ? Number.parseInt(toHex(keyId.value), 16) : undefined);
    }
  }
  throw new Error('DG14 has no id-PK-ECDH key');
}

/** The new session has the recorded keys (both sessions wrap a command alike) and SSC 2 after the SELECT. */
function expectSessionKeys(result: ChipAuthenticationResult, algorithm: KeyAlgorithm, kEnc: string, kMac: string): void {
  expect(result.outcome).toBe('passed');
  const session = result.channel!.session;
  expect(session.algorithm).toBe(algorithm);
  const ssc = new Uint8Array(algorithm === '3DES' ? 8 : 16);
  ssc[ssc.length - 1] = 2;
  expect(toHex(session.ssc)).toBe(toHex(ssc));
  const expected = SecureMessaging.fromKeys(algorithm, fromHex(kEnc), fromHex(kMac), ssc);
  const probe: CommandApdu = { cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 };
  expect(toHex(session.wrapCommand(probe))).toBe(toHex(expected.wrapCommand(probe)));
}

describe('CA known answers: recorded passport exchanges (public transcripts from gmrtd chipauth tests)', () => {
  // Explicit brainpoolP256r1 parameters in the DG14 key; MSE:Set AT + GENERAL AUTHENTICATE, then SELECT EF.DG14.
  it('AES-128 on brainpoolP256r1 without keyId (AT passport)', async () => {
    const dg14 = fromHex(
      '6E82017E3182017A300D060804007F0007020202020101300F060A04007F000702020302020201013012060A04007F0007020204020202010202010D30820142060904007F000702020102308201333081EC06072A8648CE3D02013081E0020101302C06072A8648CE3D0101022100A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377304404207D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9042026DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B60441048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997022100A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7020101034200041983917269AC877C0B61544C2C022000D2A5ABA723E2D80141E648B40911DC3459761F27480E4B57181A53D8FE1190EA86C939AC14363178CAFFC621F0F905C3',
    );
    const script = new ScriptedTransceiver([
      { command: '0C2241A41D8711015D8F69B1EA365CCE4304970DB12421F38E085340D338128085E700', response: '990290008E083F5136E82A6C34779000' },
      {
        command:
          '0C860000608751019E18F1BA79D805379752BB560EB70AAC3CE3BC5AFE2FDD4AEB325CA8B578B4A93B9F66A5DF40005F8E878535251D33DD974AAF77FB858773E5799FA9DC1034E89B1150EC7F0BB3DB4BF37A1B9EA4458A9701008E089D204D950C0B95DB00',
        response: '8711010B0A5DFFC7432DE4DEB604291377A05B990290008E08B3384A1F5D1579739000',
      },
      { command: '0CA4020C1D8711011B2EE500E84960DF7F37AFE7ADFF53838E084500F3B43E192A5700', response: '990290008E0803C4B125B4218CEF9000' },
    ]);
    const session = SecureMessaging.fromKeys('AES-128', fromHex('524170DE3419B7AF2F23E45AD6EF9595'), fromHex('97893F5FDC29A5C13A924FE7D8ED44FD'), fromHex('000000000000000000000000000000F0'));
    const result = await performChipAuthentication(script, new SecureMessagingTransceiver(script, session), caInfo('AES-128'), caPublicKeyOf(dg14), {
      ephemeralPrivateKey: fromHex('80EBAFC8A51BECD4D90BB640EE38C9FD5C12748D28AAA37096B98C4533C4F5F5'),
    });
    expect(script.remaining).toBe(0);
    expectSessionKeys(result, 'AES-128', 'C8E27260EFD3F318D18C080CBF11C7E6', 'A942190365204A21409EB28B52BF9160');
  });

  it('AES-128 on brainpoolP256r1 with keyId C3 in MSE:Set AT (DE passport)', async () => {
    const dg14 = fromHex(
      '6E82019A31820196300D060804007F00070202020201013012060A04007F0007020204020202010202010D3012060A04007F0007020204060202010202010D3013060A04007F00070202030202020101020200C330820146060904007F000702020102308201333081EC06072A8648CE3D02013081E0020101302C06072A8648CE3D0101022100A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377304404207D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9042026DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B60441048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997022100A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7020101034200047036BC5D0BCF31913B59103BB6F2C0C98C99EF4C19B9517340B76BFE4EE2194C76C3F3314E021D4B092DB5A32AB7D6E297F2FBEAE45AA28DEFC4DA750FEAD54E020200C3',
    );
    const script = new ScriptedTransceiver([
      { command: '0C2241A41D871101980953D37F67558690045D78A853B18A8E08929767A2CEF172E200', response: '990290008E08FC873EBB62219C8A9000' },
      {
        command:
          '0C8600006087510161912C367A6322D24AA1D4522DC47A7345369257672DF1D1163D506EB6489395D8083FAD393A394297CE8703C42F22C864C1F4C8E70EE1CF9B497ACF6579190D90F36CF9E16FE2149FF57247285D9E1E9701008E08A1D7A16EFBFD932C00',
        response: '87110123E7159AC9B0EF92CE1F6755B89697E3990290008E088972F1595E1508C29000',
      },
      { command: '0CA4020C1D871101FAD37EADBCDE7E6A0833035A9FFF5B708E0836560BBCE1FECD5F00', response: '990290008E0829D0E1EBBB61BE7A9000' },
    ]);
    const session = SecureMessaging.fromKeys('AES-128', fromHex('CC86415F2ED7E8FD663B754265695AE1'), fromHex('581E84B8EE06C4D3EEE30461498D7FB3'), fromHex('000000000000000000000000000000BA'));
    const keyInfo = caPublicKeyOf(dg14);
    expect(keyInfo.keyId).toBe(0xc3);
    const result = await performChipAuthentication(script, new SecureMessagingTransceiver(script, session), caInfo('AES-128', 0xc3), keyInfo, {
      ephemeralPrivateKey: fromHex('84A5145885678EE9307C28C52736896267511203B7B8009C5FE27ABCBAECDCAA'),
    });
    expect(script.remaining).toBe(0);
    expectSessionKeys(result, 'AES-128', 'AF0EEDB52E87B945FC5503B1C6875C1C', 'CEB85BEDCECFF1DD1E25DFB672C4A5BF');
  });

  // No ChipAuthenticationInfo: 3DES is assumed, MSE:Set KAT under an AES-256 PACE session; explicit NIST P-256.
  it('3DES inferred without ChipAuthenticationInfo, MSE:Set KAT (FR passport)', async () => {
    const dg14 = fromHex(
      '6E82015E3182015A30820142060904007F000702020102308201333081EC06072A8648CE3D02013081E0020101302C06072A8648CE3D0101022100FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF30440420FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC04205AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B0441046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5022100FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551020101034200048367FC170D90AD53A28C6526A9C7EC4F5C59C4F7F5D992583F951A1654B4D1D6332163A33D82CBF245154887A8812ED9A55C15AD9D5C5C463851875BBA9AEABD3012060A04007F0007020204020402010202010C',
    );
    const script = new ScriptedTransceiver([
      {
        command:
          '0c2241a65d8751013ae386873df68bd7e9f8d7ab2e696ced29eeb8da78d502645b5e97d566361341e2eaa56318f6d84bf0bc44f7808afaf14798d16048aab03545f017f557d2cce9dee724f099e3d643abd0fb03e567d9b18e08f2d238dede5abbf100',
        response: '990290008e089666ac14d11e8c2c9000',
      },
      { command: '0ca4020c15870901db66e918fe3525f98e08d870008cea2ba80000', response: '990290008e08420dea0a913418ae9000' },
    ]);
    const session = SecureMessaging.fromKeys(
      'AES-256',
      fromHex('17da5d46e356f5b31c3d65b1369ef531ca811effc76967d2b62335e1ad9fe5cb'),
      fromHex('5cb99a25e6081581fac80c8da621087939b6bde273f2f7c65693b3a0ea3051ed'),
      fromHex('000000000000000000000000000000c6'),
    );
    const result = await performChipAuthentication(script, new SecureMessagingTransceiver(script, session), undefined, caPublicKeyOf(dg14), {
      ephemeralPrivateKey: fromHex('d9c3b06a4dcb735351429403fcb56db520dc882512d775971f724d6112f96586'),
    });
    expect(script.remaining).toBe(0);
    expectSessionKeys(result, '3DES', '8ae910a12991fbfe5e37c2c726a2df29', '1adac8970843d9bf8570737a04a8d50d');
  });
});

/** The new channel carries protected commands that the card answers with the new keys; the old one is dead. */
async function expectRekeyed({ card, channel: old }: OpenCard, result: ChipAuthenticationResult): Promise<void> {
  expect(result).toEqual({ outcome: 'passed', channel: expect.any(SecureMessagingTransceiver) as unknown });
  const channel = result.channel!;
  expect(channel.session).not.toBe(old.session);
  const read = decodeResponse(await channel.transmit(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 4, le: 8 })));
  expect(read.sw).toBe(0x9000);
  expect(toHex(read.data)).toBe(toHex(card.file.subarray(4, 12)));
  expect(toHex(channel.session.ssc)).toBe(toHex(card.session!.ssc));
  // The chip no longer knows the old keys: it answers 6988 in the clear and drops secure messaging altogether.
  expect(decodeResponse(await old.transmit(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 }))).sw).toBe(0x6988);
  expect(card.session).toBeUndefined();
}

describe.each([
  { curve: 'brainpoolP256r1', algorithm: 'AES-128' },
  { curve: 'brainpoolP256r1', algorithm: 'AES-256' },
  { curve: 'brainpoolP256r1', algorithm: '3DES' },
  { curve: 'NIST P-256', algorithm: 'AES-128' },
  { curve: 'NIST P-256', algorithm: 'AES-192' },
  { curve: 'NIST P-256', algorithm: '3DES' },
] as const)('CA $algorithm on $curve, terminal against chip', ({ curve, algorithm }) => {
  const key = CURVES[curve];

  it('passes over a PACE session, and secure messaging goes on under the new keys', async () => {
    const open = await openWithPace([new ChipAuthenticationChip({ protocol: CA_OID[algorithm], privateKey: key.privateKey })]);
    const result = await performChipAuthentication(open.card, open.channel, caInfo(algorithm), publicKeyInfo(key.spki));
    expect(result.channel?.session.algorithm).toBe(algorithm);
    const ins = open.card.commands.map((c) => c.ins.toString(16));
    expect(ins).toEqual(algorithm === '3DES' ? ['22', 'a4'] : ['22', '86', 'a4']);
    await expectRekeyed(open, result);
  });

  it('fails for a clone whose static key does not match DG14, and gives no channel', async () => {
    const cloneKey = generateKeyPairSync('ec', { namedCurve: curve === 'NIST P-256' ? 'prime256v1' : curve }).privateKey;
    const open = await openWithPace([new ChipAuthenticationChip({ protocol: CA_OID[algorithm], privateKey: key.privateKey }, { cloneKey })]);
    const result = await performChipAuthentication(open.card, open.channel, caInfo(algorithm), publicKeyInfo(key.spki));
    expect(result.outcome).toBe('failed');
    expect(result.channel).toBeUndefined();
    expect(result.reason).toMatch(/answered SELECT under the new keys with SW 6988/);
    expect(open.card.session).toBeUndefined();
  });
});

describe('CA variants', () => {
  const key = CURVES.brainpoolP256r1;

  it('over a BAC (3DES) session, with a keyId the chip checks', async () => {
    const open = await openWithBac([new ChipAuthenticationChip({ protocol: CA_OID['AES-128'], privateKey: key.privateKey, keyId: 300 })]);
    await expectRekeyed(open, await performChipAuthentication(open.card, open.channel, caInfo('AES-128', 300), publicKeyInfo(key.spki, 300)));
    expect(toHex(open.card.commands[0]!.data!.subarray(-4))).toBe('8402012C');
  });

  it('without ChipAuthenticationInfo: MSE:Set KAT and a 3DES session', async () => {
    const open = await openWithPace([new ChipAuthenticationChip({ protocol: CA_OID['3DES'], privateKey: key.privateKey })]);
    const result = await performChipAuthentication(open.card, open.channel, undefined, publicKeyInfo(key.spki));
    expect(result.channel?.session.algorithm).toBe('3DES');
    expect(open.card.commands[0]).toMatchObject({ ins: 0x22, p1: 0x41, p2: 0xa6 });
    await expectRekeyed(open, result);
  });

  it('a keyId the chip does not hold: CARD_STATUS_ERROR 6A88', async () => {
    const open = await openWithPace([new ChipAuthenticationChip({ protocol: CA_OID['AES-128'], privateKey: key.privateKey, keyId: 1 })]);
    const err = await rejection(performChipAuthentication(open.card, open.channel, caInfo('AES-128', 2), publicKeyInfo(key.spki, 2)));
    expect(isKioskError(err, 'CARD_STATUS_ERROR')).toBe(true);
    expect((err as Error).message).toContain('6A88');
  });

  it('a chip advertising another cipher refuses MSE:Set AT: CARD_STATUS_ERROR 6A80', async () => {
    const open = await openWithPace([new ChipAuthenticationChip({ protocol: CA_OID['AES-256'], privateKey: key.privateKey })]);
    const err = await rejection(performChipAuthentication(open.card, open.channel, caInfo('AES-128'), publicKeyInfo(key.spki)));
    expect(isKioskError(err, 'CARD_STATUS_ERROR')).toBe(true);
    expect((err as Error).message).toContain('6A80');
  });

  it('a chip without CA: CARD_STATUS_ERROR', async () => {
    const open = await openWithPace([]);
    expect(isKioskError(await rejection(performChipAuthentication(open.card, open.channel, caInfo('AES-128'), publicKeyInfo(key.spki))), 'CARD_STATUS_ERROR')).toBe(true);
  });

  it('GENERAL AUTHENTICATE answered with data CA version 1 does not define: failed', async () => {
    const chip = new ChipAuthenticationChip({ protocol: CA_OID['AES-128'], privateKey: key.privateKey });
    const talkative: ChipProtocol = {
      handles: (command) => chip.handles(command),
      process: (command) => {
        const result = chip.process(command);
        return command.ins === 0x86 ? { ...result, response: { data: fromHex('7C0A8108000102030405060700'), sw: 0x9000 } } : result;
      },
    };
    const open = await openWithPace([talkative]);
    const result = await performChipAuthentication(open.card, open.channel, caInfo('AES-128'), publicKeyInfo(key.spki));
    expect(result.outcome).toBe('failed');
    expect(result.channel).toBeUndefined();
    expect(result.reason).toMatch(/expects 7C 00/);
  });
});

describe('CA parameters the terminal does not support, or that are malformed', () => {
  const key = CURVES.brainpoolP256r1;
  const p224 = ecKeyPair('secp224r1').spki;
  const dh = { ...caInfo('AES-128'), protocol: '0.4.0.127.0.7.2.2.3.1.2' };

  it.each([
    { why: 'DH chip authentication', info: dh, keyInfo: publicKeyInfo(key.spki), code: 'CARD_UNSUPPORTED' },
    { why: 'an unknown cipher suffix', info: { ...caInfo('AES-128'), protocol: '0.4.0.127.0.7.2.2.3.2.9' }, keyInfo: publicKeyInfo(key.spki), code: 'CARD_UNSUPPORTED' },
    { why: 'an inherited property name as cipher suffix', info: { ...caInfo('AES-128'), protocol: '0.4.0.127.0.7.2.2.3.2.constructor' }, keyInfo: publicKeyInfo(key.spki), code: 'CARD_UNSUPPORTED' },
    { why: 'version 2', info: { ...caInfo('AES-128'), version: 2 }, keyInfo: publicKeyInfo(key.spki), code: 'CARD_UNSUPPORTED' },
    { why: 'an id-PK-DH key', info: caInfo('AES-128'), keyInfo: { ...publicKeyInfo(key.spki), protocol: '0.4.0.127.0.7.2.2.1.1' }, code: 'CARD_UNSUPPORTED' },
    { why: 'a curve we do not implement (P-224)', info: caInfo('AES-128'), keyInfo: publicKeyInfo(p224), code: 'CARD_UNSUPPORTED' },
    { why: 'a key that is not an SPKI', info: caInfo('AES-128'), keyInfo: publicKeyInfo(fromHex('300602010102010200')), code: 'LDS_MALFORMED' },
    { why: 'trailing bytes after the SPKI', info: caInfo('AES-128'), keyInfo: publicKeyInfo(concatBytes(key.spki, fromHex('00'))), code: 'LDS_MALFORMED' },
  ] as { why: string; info: ChipAuthenticationInfo; keyInfo: ChipAuthenticationPublicKeyInfo; code: string }[])('$why -> $code before any command', async ({ info, keyInfo, code }) => {
    const card = new ScriptedTransceiver([]);
    const session = SecureMessaging.fromKeys('AES-128', new Uint8Array(16), new Uint8Array(16), new Uint8Array(16));
    const err = await rejection(performChipAuthentication(card, new SecureMessagingTransceiver(card, session), info, keyInfo));
    expect(isKioskError(err) && err.code).toBe(code);
  });

  it('ChipAuthenticationInfo and the public key naming different keyIds (both from DG14): LDS_MALFORMED before any command', async () => {
    const card = new ScriptedTransceiver([]);
    const session = SecureMessaging.fromKeys('AES-128', new Uint8Array(16), new Uint8Array(16), new Uint8Array(16));
    const err = await rejection(performChipAuthentication(card, new SecureMessagingTransceiver(card, session), caInfo('AES-128', 1), publicKeyInfo(key.spki, 2)));
    expect(isKioskError(err, 'LDS_MALFORMED')).toBe(true);
    expect((err as Error).message).toContain('keyId 1 does not name public key 2');
  });
});

describe('EC public keys with explicit domain parameters', () => {
  // The AT passport's DG14 key (explicit brainpoolP256r1 parameters) as an SPKI.
  const explicitBrainpool = fromHex(
    '308201333081EC06072A8648CE3D02013081E0020101302C06072A8648CE3D0101022100A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377304404207D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9042026DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B60441048BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997022100A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7020101034200041983917269AC877C0B61544C2C022000D2A5ABA723E2D80141E648B40911DC3459761F27480E4B57181A53D8FE1190EA86C939AC14363178CAFFC621F0F905C3',
  );

  it('are matched to the named curve they spell out', () => {
    expect(readEcPublicKey(explicitBrainpool, 'test key').domain.name).toBe('brainpoolP256r1');
    expect(readEcPublicKey(CURVES['NIST P-256'].spki, 'test key').domain.name).toBe('NIST P-256');
  });

  it.each([
    { what: 'coefficient b', hex: '26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6', replacement: '26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B7' },
    { what: 'order', hex: '022100A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7', replacement: '022100A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A5' },
    { what: 'cofactor', hex: 'A7020101034200', replacement: 'A7020102034200' },
  ])('with a changed $what match no supported curve: CARD_UNSUPPORTED', ({ hex, replacement }) => {
    const tampered = fromHex(toHex(explicitBrainpool).replace(hex, replacement));
    expect(tampered).not.toEqual(explicitBrainpool);
    let err: unknown;
    try {
      readEcPublicKey(tampered, 'test key');
    } catch (thrown) {
      err = thrown;
    }
    expect(isKioskError(err, 'CARD_UNSUPPORTED')).toBe(true);
  });
});

describe('EC public keys: OIDs through the strict kernel decoder', () => {
  it('a curve OID with a non-minimal arc (80 07 for 7, which asn1js reads as P-256) is LDS_MALFORMED', () => {
    const named = toHex(CURVES['NIST P-256'].spki);
    expect(named.slice(0, 8)).toBe('30593013');
    const padded = fromHex(`305A3014${named.slice(8).replace('06082A8648CE3D030107', '06092A8648CE3D03018007')}`);
    let err: unknown;
    try {
      readEcPublicKey(padded, 'test key');
    } catch (thrown) {
      err = thrown;
    }
    expect(err).toMatchObject({ code: 'LDS_MALFORMED', message: 'test key: curve: OBJECT IDENTIFIER arc with a leading 80 byte' });
  });
});

describe('CA fuzzing: malformed chip answers give failed or a typed error, never a crash or a pass', () => {
  const NUM_RUNS = 2000;
  const SEED = 9303;
  const key = CURVES['NIST P-256'];
  const ephemeralPrivateKey = fromHex('0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20');
  const keys = { kEnc: fromHex('00112233445566778899AABBCCDDEEFF'), kMac: fromHex('FFEEDDCCBBAA99887766554433221100') };

  /** Answers MSE with 9000 and GENERAL AUTHENTICATE with `gaAnswer`, both under the old session, then `proof` raw. */
  class ScriptedChip implements ApduTransceiver {
    private readonly chipSession = SecureMessaging.fromKeys('AES-128', keys.kEnc, keys.kMac, new Uint8Array(16));
    private step = 0;
    constructor(
      private readonly gaAnswer: { data: Uint8Array; sw: number },
      private readonly proof: Uint8Array,
    ) {}
    async transmit(bytes: Uint8Array): Promise<Uint8Array> {
      const step = this.step++;
      if (step === 2) return this.proof;
      const command = this.chipSession.unwrapCommand(bytes);
      return this.chipSession.wrapResponse(command.ins === 0x86 ? this.gaAnswer : { data: new Uint8Array(0), sw: 0x9000 });
    }
    async close(): Promise<void> {}
  }

  async function outcome(gaAnswer: { data: Uint8Array; sw: number }, proof: Uint8Array): Promise<string> {
    const card = new ScriptedChip(gaAnswer, proof);
    const channel = new SecureMessagingTransceiver(card, SecureMessaging.fromKeys('AES-128', keys.kEnc, keys.kMac, new Uint8Array(16)));
    try {
      return (await performChipAuthentication(card, channel, caInfo('AES-128'), publicKeyInfo(key.spki), { ephemeralPrivateKey })).outcome;
    } catch (err) {
      if (isKioskError(err)) return err.code;
      throw err;
    }
  }

  const gaAnswer = fc.oneof(
    fc.record({ data: fc.constant(fromHex('7C00')), sw: fc.constant(0x9000) }),
    fc.record({ data: fc.uint8Array({ maxLength: 40 }), sw: fc.constantFrom(0x9000, 0x6282, 0x6a80, 0x6985) }),
  );
  /** Raw bytes, or the shape of a protected answer (DO87? DO99 DO8E SW) with made-up cryptogram and MAC. */
  const proof = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.record({ cryptogram: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 })), mac: fc.uint8Array({ minLength: 8, maxLength: 8 }), sw: fc.constantFrom(0x9000, 0x6a82) }).map(({ cryptogram, mac, sw }) =>
      encodeResponse(concatBytes(cryptogram ? encodeTlv(0x87, fromHex('01'), cryptogram) : new Uint8Array(0), encodeTlv(0x99, Uint8Array.of(sw >> 8, sw & 0xff)), encodeTlv(0x8e, mac)), sw),
    ),
  );

  it('the terminal, given arbitrary GENERAL AUTHENTICATE answers and proof answers', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(gaAnswer, proof, async (ga, answer) => {
        const result = await outcome(ga, answer);
        seen.add(result);
        expect(['failed', 'CARD_STATUS_ERROR', 'CARD_MALFORMED_RESPONSE', 'CARD_SM_FAILED']).toContain(result);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(seen).toContain('failed');
  }, 60_000); // each run does a 256-bit scalar multiplication: a few seconds in all

  it('the chip, given arbitrary MSE and GENERAL AUTHENTICATE commands, answers status words and never throws', () => {
    const protocols = [CA_OID['3DES'], CA_OID['AES-128']];
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ maxLength: 70 }).map((v) => encodeTlv(0x7c, encodeTlv(0x80, v))),
      fc.uint8Array({ maxLength: 70 }).map((v) => encodeTlv(0x91, v)),
      fc.constant(concatBytes(encodeTlv(0x80, fromHex('04007F00070202030202')), encodeTlv(0x84, fromHex('01')))),
    );
    const command = fc.record({ ins: fc.constantFrom(0x22, 0x86), p2: fc.constantFrom(0xa4, 0xa6, 0x00), data: fc.option(body, { nil: undefined }) });
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.array(command, { minLength: 1, maxLength: 3 }), (which, commands) => {
        const chip = new ChipAuthenticationChip({ protocol: protocols[which]!, privateKey: key.privateKey });
        for (const { ins, p2, data } of commands) {
          const apdu: CommandApdu = { cla: 0, ins, p1: ins === 0x22 ? 0x41 : 0, p2, data };
          if (!chip.handles(apdu)) continue;
          const { response, session } = chip.process(apdu);
          expect(session).toBeUndefined();
          expect(response.sw === 0x9000 || response.data.length === 0).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
});
