import { constants, createPublicKey, generateKeyPairSync, publicDecrypt, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { decodeCommand, encodeResponse } from '../../../src/smartcard/apdu.js';
import type { ApduTransceiver } from '../../../src/smartcard/transceiver.js';
import { ScriptedTransceiver } from '../../../src/smartcard/scripted-transceiver.js';
import { ActiveAuthenticationChip, performActiveAuthentication, type ActiveAuthenticationChipOptions } from '../../../src/emrtd/auth/active-authentication.js';
import { fromHex, toHex } from '../../../src/encoding/bytes.js';
import { SecureMessaging, SecureMessagingTransceiver } from '../../../src/emrtd/sm/secure-messaging.js';
import { decodeTlv } from '../../../src/encoding/tlv.js';
import { openWithBac, openWithPace, rejection, type ChipProtocol } from './auth-test-card.js';

const ECDSA_PLAIN_SHA256 = '0.4.0.127.0.7.1.1.4.1.3';
const ECDSA_PLAIN_SHA384 = '0.4.0.127.0.7.1.1.4.1.4';
const RSA_SHA1 = 'RSA ISO/IEC 9796-2 scheme 1 with SHA-1';
const RSA_SHA256 = 'RSA ISO/IEC 9796-2 scheme 1 with SHA-256';

interface KeyPair {
  privateKey: KeyObject;
  spki: Uint8Array;
}

function keyPair(kind: 'rsa' | 'ec', namedCurve = 'prime256v1'): KeyPair {
  const { privateKey, publicKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve });
  return { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}

const rsa = keyPair('rsa');
const rsaClone = keyPair('rsa');
const p256 = keyPair('ec', 'prime256v1');
const p256Clone = keyPair('ec', 'prime256v1');
const brainpool = keyPair('ec', 'brainpoolP256r1');
const brainpoolClone = keyPair('ec', 'brainpoolP256r1');

/** A chip-side protocol answering INTERNAL AUTHENTICATE with whatever `answer` makes of the challenge. */
function fakeSigner(answer: (challenge: Uint8Array) => Uint8Array): ChipProtocol {
  return {
    handles: (command) => command.ins === 0x88,
    process: (command) => ({ response: { data: answer(command.data ?? new Uint8Array(0)), sw: 0x9000 } }),
  };
}

/** A plain link whose card answers every command with `signature` and 9000, counting the commands. */
class FixedAnswerLink implements ApduTransceiver {
  count = 0;
  constructor(private readonly signature: Uint8Array) {}
  async transmit(command: Uint8Array): Promise<Uint8Array> {
    this.count++;
    expect(decodeCommand(command).ins).toBe(0x88);
    return encodeResponse(this.signature, 0x9000);
  }
  async close(): Promise<void> {}
}

describe('AA known answer: a recorded RSA-1792 / SHA-256 (34CC) passport exchange under 3DES secure messaging', () => {
  // Public transcript from gmrtd's tests (activeauth/active_auth_test.go): DG15, session keys, SSC, RND.IFD, APDUs.
  const dg15 = fromHex(
    '6F8201023081FF300D06092A864886F70D01010105000381ED003081E90281E100BB8F93F4DC95E205CDA17C6927AB1E365B13065D03CD12E0FCE95D96840529453202F56CC4C13F77CD062930C8BC89A2873B257045C286E601CF3C09323A53103314902804AA10A314628CE222206A8866946A36B442041BB54AC81E6855DD1D6E16101833D65A191C20AC8B33B8A1A32920F46043F8031CF2BC17417030865FC5BE5A39DEE423BCBA3CA8177168EB23CFE01BA43EC87711B1CFFF85DB46F300DD8AE317B50D543B573E119E23AF7070D0B2FED6A3B2313A5EC02A531AAED1741F4390D1013E2A0F081EAC5DC8B0A1B2C6BDB1206F08D30E3643E1E5BDF536110203010001',
  );
  const spki = decodeTlv(dg15).value;
  const challenge = fromHex('96302b0f3d7e7864');
  const signature = fromHex(
    '474256306840c0ab1b63c10e1c26bdfef4a0dd843920283cc4e6e70a60f2bd25dc7725f9677bc1cde66379dc28b38e8490f33afb2d10f9980c44c0bfc175d2b6684218f535c92fdd3e18db770a9ccbf91db3c7f0138e6d9e94b9bc8371761e3abed5e5e9b260279cfb238b58ae0d6a01da51c74c2a3ecd62c448bd9f20127f7384587287fa971204234e55b1a856c3e5aaaa620bb799a68fbae08ee132bb61683eba9b0b40dc1e54641cad975b16991cab50af82e3f3985afd19e7427a125f5b4b9878b12a5d2e01c7eedca3bb41c6fc05dccd818bce379d04b1f2f5d43487d3',
  );

  it('sends the recorded protected INTERNAL AUTHENTICATE byte for byte and verifies the answer', async () => {
    const session = SecureMessaging.fromKeys('3DES', fromHex('b99d546108eaa251570876b6d3456dce'), fromHex('e3857ca24946251c151c540e13f2cd51'), fromHex('00000000000000cc'));
    const script = new ScriptedTransceiver([
      {
        command: '0c88000020871101ed7f8cb47a4eea086324a7f9dd7427809701008e0897f54bae49aa71f800',
        response:
          '8781e901d04ca80f527df94f4a430d3d6e6cb6c2af4c6756c068a93132d147fa27833125304132981b8bd8009448e89f259eec8552b54285cef9d8f1b7fb31b9f279221c7e925f4951811f3fe2e01d76e68dbc7cde9c873c5f61862f3c5469792a72f92c8943b890436f5e9feaead9f2a361fcd7a615493d1b3519865f32ee9a125886588eb21fee0e709353d0731139fdc958d6b2127fad6947b438998b526819803f70f78614cd42f4a6619c6af95dfd2ab09bedf71e707abc39a250aee68006d522ad37d159674984a07d11c001022c853aeb7acdb059ede5721a3b9f20441bda7e242ee8df1369d25316990290008e08fd2493147866f0ed9000',
      },
    ]);
    const result = await performActiveAuthentication(new SecureMessagingTransceiver(script, session), spki, { challenge });
    expect(result).toEqual({ outcome: 'passed', algorithm: RSA_SHA256 });
    expect(script.remaining).toBe(0);
    expect(toHex(session.ssc)).toBe('00000000000000CE');
  });

  it('rejects the recorded signature replayed for another challenge', async () => {
    const link = new FixedAnswerLink(signature);
    const result = await performActiveAuthentication(link, spki, { challenge: fromHex('96302b0f3d7e7865') });
    expect(result).toMatchObject({ outcome: 'failed', algorithm: RSA_SHA256, reason: 'the recovered hash is not H(M1 || challenge)' });
  });
});

describe.each([
  { name: 'RSA-2048, SHA-1 (trailer BC)', key: rsa, clone: rsaClone, chip: {}, signatureAlgorithm: undefined, algorithm: RSA_SHA1 },
  { name: 'RSA-2048, SHA-256 (trailer 34CC)', key: rsa, clone: rsaClone, chip: { hash: 'sha256' }, signatureAlgorithm: undefined, algorithm: RSA_SHA256 },
  { name: 'ECDSA P-256, ecdsa-plain-SHA256', key: p256, clone: p256Clone, chip: { hash: 'sha256' }, signatureAlgorithm: ECDSA_PLAIN_SHA256, algorithm: 'ECDSA NIST P-256 with SHA-256' },
  { name: 'ECDSA P-256, ecdsa-plain-SHA384', key: p256, clone: p256Clone, chip: { hash: 'sha384' }, signatureAlgorithm: ECDSA_PLAIN_SHA384, algorithm: 'ECDSA NIST P-256 with SHA-384' },
  { name: 'ECDSA P-256, no ActiveAuthenticationInfo', key: p256, clone: p256Clone, chip: {}, signatureAlgorithm: undefined, algorithm: 'ECDSA NIST P-256 with SHA-256' },
  { name: 'ECDSA brainpoolP256r1, ecdsa-plain-SHA256', key: brainpool, clone: brainpoolClone, chip: { hash: 'sha256' }, signatureAlgorithm: ECDSA_PLAIN_SHA256, algorithm: 'ECDSA brainpoolP256r1 with SHA-256' },
  { name: 'ECDSA brainpoolP256r1, X9.62 ecdsa-with-SHA256', key: brainpool, clone: brainpoolClone, chip: {}, signatureAlgorithm: '1.2.840.10045.4.3.2', algorithm: 'ECDSA brainpoolP256r1 with SHA-256' },
] as { name: string; key: KeyPair; clone: KeyPair; chip: ActiveAuthenticationChipOptions; signatureAlgorithm: string | undefined; algorithm: string }[])(
  'AA $name, terminal against chip over PACE secure messaging',
  ({ key, clone, chip, signatureAlgorithm, algorithm }) => {
    it('passes, and the session stays usable', async () => {
      const { card, channel } = await openWithPace([new ActiveAuthenticationChip(key.privateKey, chip)]);
      const result = await performActiveAuthentication(channel, key.spki, { signatureAlgorithm });
      expect(result).toEqual({ outcome: 'passed', algorithm });
      const command = card.commands.at(-1);
      expect(command?.ins).toBe(0x88);
      expect(command?.data?.length).toBe(8);
      expect(toHex(channel.session.ssc)).toBe(toHex(card.session!.ssc));
    });

    it('fails for a clone signing with another key', async () => {
      const { channel } = await openWithPace([new ActiveAuthenticationChip(key.privateKey, { ...chip, cloneKey: clone.privateKey })]);
      const result = await performActiveAuthentication(channel, key.spki, { signatureAlgorithm });
      expect(result.outcome).toBe('failed');
      expect(result.reason).toMatch(key === rsa ? /6A header|trailer|modulus|recovered hash/ : /plain ECDSA signature does not verify/);
    });
  },
);

describe('AA RSA signature format on the chip side', () => {
  const openedFormat = (options: ActiveAuthenticationChipOptions) => {
    const { response } = new ActiveAuthenticationChip(rsa.privateKey, options).process({ cla: 0, ins: 0x88, p1: 0, p2: 0, data: fromHex('0102030405060708'), le: 256 });
    expect(response.sw).toBe(0x9000);
    expect(response.data.length).toBe(256);
    const f = new Uint8Array(publicDecrypt({ key: createPublicKey({ key: Buffer.from(rsa.spki), format: 'der', type: 'spki' }), padding: constants.RSA_NO_PADDING }, response.data));
    return { header: toHex(f.subarray(0, 1)), trailer: toHex(f.subarray(-2)) };
  };

  it('uses header 6A and trailer BC for SHA-1, 34CC for SHA-256', () => {
    const sha1 = openedFormat({});
    expect(sha1.header).toBe('6A');
    expect(sha1.trailer.slice(2)).toBe('BC');
    expect(openedFormat({ hash: 'sha256' })).toEqual({ header: '6A', trailer: '34CC' });
  });

  it('answers wrong P1-P2 with 6A86 and a challenge that is not 8 bytes with 6700', () => {
    const chip = new ActiveAuthenticationChip(rsa.privateKey);
    expect(chip.process({ cla: 0, ins: 0x88, p1: 1, p2: 0, data: new Uint8Array(8), le: 256 }).response.sw).toBe(0x6a86);
    expect(chip.process({ cla: 0, ins: 0x88, p1: 0, p2: 0, data: new Uint8Array(7), le: 256 }).response.sw).toBe(0x6700);
    expect(chip.process({ cla: 0, ins: 0x88, p1: 0, p2: 0, le: 256 }).response.sw).toBe(0x6700);
  });
});

describe('AA with a chip that echoes the challenge instead of signing it', () => {
  it.each([
    { name: 'RSA, the bare challenge', key: rsa, answer: (c: Uint8Array) => c, reason: /signature of 8 bytes for a 256-byte modulus/ },
    { name: 'RSA, the challenge padded to the modulus length', key: rsa, answer: (c: Uint8Array) => Uint8Array.from([...c, ...new Uint8Array(248)]), reason: /./ },
    { name: 'ECDSA, the challenge as r and s', key: brainpool, answer: (c: Uint8Array) => Uint8Array.from([...c, ...new Uint8Array(24), ...c, ...new Uint8Array(24)]), reason: /plain ECDSA signature does not verify/ },
    { name: 'ECDSA, the bare challenge', key: p256, answer: (c: Uint8Array) => c, reason: /DER ECDSA signature does not verify/ },
  ])('$name: failed', async ({ key, answer, reason }) => {
    const { channel } = await openWithPace([fakeSigner(answer)]);
    const result = await performActiveAuthentication(channel, key.spki);
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(reason);
  });
});

describe('AA over BAC (3DES) secure messaging', () => {
  it('passes with RSA and with ECDSA', async () => {
    const { channel } = await openWithBac([new ActiveAuthenticationChip(rsa.privateKey)]);
    expect((await performActiveAuthentication(channel, rsa.spki)).outcome).toBe('passed');
    const ec = await openWithBac([new ActiveAuthenticationChip(brainpool.privateKey)]);
    expect((await performActiveAuthentication(ec.channel, brainpool.spki)).outcome).toBe('passed');
  });
});

describe('AA with a DER-encoded ECDSA signature (some national ID cards answer so)', () => {
  it('passes when it verifies and fails when it is for another key', async () => {
    const derSigner = (key: KeyObject) => fakeSigner((challenge) => new Uint8Array(sign('sha256', challenge, { key, dsaEncoding: 'der' })));
    const genuine = await openWithPace([derSigner(brainpool.privateKey)]);
    expect(await performActiveAuthentication(genuine.channel, brainpool.spki)).toEqual({ outcome: 'passed', algorithm: 'ECDSA brainpoolP256r1 with SHA-256' });
    const clone = await openWithPace([derSigner(brainpoolClone.privateKey)]);
    expect((await performActiveAuthentication(clone.channel, brainpool.spki)).outcome).toBe('failed');
  });
});

describe('AA errors', () => {
  it('a chip without AA: CARD_STATUS_ERROR with the status word', async () => {
    const { channel } = await openWithPace([]);
    const err = await rejection(performActiveAuthentication(channel, rsa.spki));
    expect(isKioskError(err, 'CARD_STATUS_ERROR')).toBe(true);
    expect((err as Error).message).toContain('6D00');
  });

  const ed25519 = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
  const p224 = keyPair('ec', 'secp224r1').spki;
  it.each([
    { name: 'an Ed25519 key', spki: ed25519, options: {}, code: 'CARD_UNSUPPORTED' },
    { name: 'a P-224 key', spki: p224, options: {}, code: 'CARD_UNSUPPORTED' },
    { name: 'an ECDSA signature algorithm we do not know', spki: p256.spki, options: { signatureAlgorithm: '0.4.0.127.0.7.1.1.4.1.6' }, code: 'CARD_UNSUPPORTED' },
    { name: 'bytes that are not a SubjectPublicKeyInfo', spki: fromHex('3003020101'), options: {}, code: 'LDS_MALFORMED' },
    { name: 'an EC key whose point is off the curve', spki: Uint8Array.from([...p256.spki.subarray(0, -1), p256.spki.at(-1)! ^ 1]), options: {}, code: 'LDS_MALFORMED' },
  ] as const)('$name: $code before any command', async ({ spki, options, code }) => {
    const link = new FixedAnswerLink(new Uint8Array(0));
    const err = await rejection(performActiveAuthentication(link, spki, options));
    expect(isKioskError(err, code)).toBe(true);
    expect(link.count).toBe(0);
  });

  it('a challenge that is not 8 bytes: RangeError', async () => {
    await expect(performActiveAuthentication(new FixedAnswerLink(new Uint8Array(0)), rsa.spki, { challenge: new Uint8Array(7) })).rejects.toThrow(RangeError);
  });
});

describe('AA fuzzing: what the chip answers never crashes the terminal and never passes', () => {
  const NUM_RUNS = 2000;
  const SEED = 9303;
  const challenge = fromHex('0011223344556677');

  async function outcome(spki: Uint8Array, signature: Uint8Array): Promise<string> {
    try {
      return (await performActiveAuthentication(new FixedAnswerLink(signature), spki, { challenge })).outcome;
    } catch (err) {
      if (isKioskError(err)) return err.code;
      throw err;
    }
  }

  const genuine = {
    rsa: new ActiveAuthenticationChip(rsa.privateKey).process({ cla: 0, ins: 0x88, p1: 0, p2: 0, data: challenge, le: 256 }).response.data,
    ec: new ActiveAuthenticationChip(brainpool.privateKey).process({ cla: 0, ins: 0x88, p1: 0, p2: 0, data: challenge, le: 256 }).response.data,
  };

  it('the genuine signatures pass (the baseline the mutations start from)', async () => {
    expect(await outcome(rsa.spki, genuine.rsa)).toBe('passed');
    expect(await outcome(brainpool.spki, genuine.ec)).toBe('passed');
  });

  it.each([
    { name: 'RSA-2048', spki: rsa.spki, size: 256 },
    { name: 'ECDSA brainpoolP256r1', spki: brainpool.spki, size: 64 },
  ])('$name: random signatures of any length or of the right length', async ({ spki, size }) => {
    const signatures = fc.oneof(fc.uint8Array({ maxLength: 2 * size }), fc.uint8Array({ minLength: size, maxLength: size }));
    await fc.assert(
      fc.asyncProperty(signatures, async (signature) => {
        expect(['failed', 'CARD_MALFORMED_RESPONSE']).toContain(await outcome(spki, signature));
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });

  it.each([
    { name: 'RSA-2048', spki: rsa.spki, signature: genuine.rsa },
    { name: 'ECDSA brainpoolP256r1', spki: brainpool.spki, signature: genuine.ec },
  ])('$name: the genuine signature with one bit flipped, a byte dropped or a byte added', async ({ spki, signature }) => {
    const mutation = fc.record({ kind: fc.constantFrom('flip', 'drop', 'add'), at: fc.nat({ max: signature.length - 1 }), bit: fc.nat({ max: 7 }) });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ kind, at, bit }) => {
        const bytes = [...signature];
        if (kind === 'flip') bytes[at] = (bytes[at] as number) ^ (1 << bit);
        else if (kind === 'drop') bytes.splice(at, 1);
        else bytes.splice(at, 0, bit);
        expect(await outcome(spki, Uint8Array.from(bytes))).toBe('failed');
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });

  it('the chip answers any INTERNAL AUTHENTICATE with a status word and never throws', () => {
    const chips = [new ActiveAuthenticationChip(rsa.privateKey), new ActiveAuthenticationChip(p256.privateKey)];
    const command = fc.record({ p1: fc.nat({ max: 255 }), p2: fc.nat({ max: 255 }), data: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }) });
    fc.assert(
      fc.property(command, fc.nat({ max: 1 }), ({ p1, p2, data }, which) => {
        const { response, session } = chips[which]!.process({ cla: 0, ins: 0x88, p1, p2, data, le: 256 });
        expect(session).toBeUndefined();
        expect(response.sw === 0x9000 ? data?.length === 8 && p1 === 0 && p2 === 0 : response.data.length === 0).toBe(true);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
});
