import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError, KioskError, type ErrorCode } from '@kiosk/common';
import type { ApduTransceiver } from '../../src/smartcard/transceiver.js';
import { ActiveAuthenticationChip, performActiveAuthentication } from '../../src/emrtd/auth/active-authentication.js';
import { ChipAuthenticationChip, performChipAuthentication, readEcPublicKey } from '../../src/emrtd/auth/chip-authentication.js';
import { bytesEqual, concatBytes, fromHex } from '../../src/encoding/bytes.js';
import { encodeDg15, parseDg15, type ActiveAuthenticationKey } from '../../src/emrtd/lds/dg15.js';
import { encodeDg14, parseSecurityInfos } from '../../src/emrtd/lds/security-infos.js';
import type { LdsFileName } from '../../src/emrtd/read-card-files.js';
import type { ChipAuthenticationPublicKeyInfo, SecurityInfo } from '../../src/emrtd/security-infos-types.js';
import { SecureMessaging, SecureMessagingTransceiver } from '../../src/emrtd/sm/secure-messaging.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { authenticateChip, type ChipChecks } from '../../src/verify/chip-checks.js';
import { AuthTestCard } from '../emrtd/auth/auth-test-card.js';
import { mutationsOf } from '../emrtd/fuzz.js';

/**
 * Issue 12 part 6, "a bug is never a verdict": what the card controls (DG14 and DG15 keys, the chip's answers) gives
 * a check outcome or a KioskError that says so; nothing else a chip does may surface as a RangeError or TypeError,
 * and a RangeError, TypeError or foreign error inside AA/CA reaches the caller instead of failing the chip.
 */
const SEED = 9303;
const RUNS = { dg15Keys: 1500, dg14Files: 1500, dg14Keys: 1500, answers: 600, aaKeys: 3000, caKeys: 3000 };

const ID_PK_ECDH = '0.4.0.127.0.7.2.2.1.2';
const ID_CA_ECDH_AES_128 = '0.4.0.127.0.7.2.2.3.2.2';
const ECDSA_PLAIN_SHA256 = '0.4.0.127.0.7.1.1.4.1.3';
const KEYS = { kEnc: fromHex('00112233445566778899AABBCCDDEEFF'), kMac: fromHex('FFEEDDCCBBAA99887766554433221100') };

interface KeyPair {
  privateKey: KeyObject;
  spki: Uint8Array;
}

function keyPair(options: { kind: 'rsa' } | { kind: 'ec'; namedCurve: string; explicit?: boolean }): KeyPair {
  const { privateKey, publicKey } =
    options.kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 1024 })
      : generateKeyPairSync('ec', { namedCurve: options.namedCurve, paramEncoding: options.explicit ? 'explicit' : 'named' });
  return { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) };
}

const AA_KEYS = {
  'RSA-1024': keyPair({ kind: 'rsa' }),
  'ECDSA P-256': keyPair({ kind: 'ec', namedCurve: 'prime256v1' }),
  'ECDSA brainpoolP256r1 (explicit parameters)': keyPair({ kind: 'ec', namedCurve: 'brainpoolP256r1', explicit: true }),
};
const CA_KEYS = {
  'brainpoolP256r1 (explicit parameters)': keyPair({ kind: 'ec', namedCurve: 'brainpoolP256r1', explicit: true }),
  'NIST P-256': keyPair({ kind: 'ec', namedCurve: 'prime256v1' }),
};
const caKey = CA_KEYS['brainpoolP256r1 (explicit parameters)'];
const aaKey = AA_KEYS['ECDSA P-256'];

const dg14Infos = (spki: Uint8Array): SecurityInfo[] => [
  { kind: 'chip-authentication', protocol: ID_CA_ECDH_AES_128, version: 1, keyId: undefined },
  { kind: 'chip-authentication-public-key', protocol: ID_PK_ECDH, subjectPublicKeyInfo: spki, keyId: undefined },
  { kind: 'active-authentication', protocol: '2.23.136.1.1.5', version: 1, signatureAlgorithm: ECDSA_PLAIN_SHA256 },
];

/** A chip (genuine AA and CA keys) already in an AES-128 secure-messaging session with the terminal, and that session. */
function openCard(aa: KeyPair = aaKey): { card: AuthTestCard; channel: SecureMessagingTransceiver } {
  const noAccess = { handles: () => false, process: () => ({ response: { data: new Uint8Array(0), sw: 0x6982 } }) };
  const card = new AuthTestCard(noAccess, [
    new ActiveAuthenticationChip(aa.privateKey, aa === AA_KEYS['RSA-1024'] ? {} : { hash: 'sha256' }),
    new ChipAuthenticationChip({ protocol: ID_CA_ECDH_AES_128, privateKey: caKey.privateKey }),
  ]);
  const session = (): SecureMessaging => SecureMessaging.fromKeys('AES-128', KEYS.kEnc, KEYS.kMac, new Uint8Array(16));
  card.session = session();
  return { card, channel: new SecureMessagingTransceiver(card, session()) };
}

interface ReadKeys {
  dg14: SecurityInfo[];
  activeAuthenticationKey: ActiveAuthenticationKey | undefined;
  files: Map<LdsFileName, Uint8Array>;
  skipped: { file: LdsFileName; reason: string }[];
}

const readOf = (dg14: SecurityInfo[], activeAuthenticationKey: ActiveAuthenticationKey | undefined): ReadKeys => ({ dg14, activeAuthenticationKey, files: new Map(), skipped: [] });

/** The same key, however it is spelled: mutations of fields the key does not depend on (an explicit curve's seed, its version) still verify. */
function sameEcKey(spki: Uint8Array, genuine: Uint8Array): boolean {
  try {
    const a = readEcPublicKey(spki, 'mutated');
    const b = readEcPublicKey(genuine, 'genuine');
    return a.domain === b.domain && a.point.equals(b.point);
  } catch {
    return false;
  }
}

function sameRsaKey(spki: Uint8Array, genuine: Uint8Array): boolean {
  try {
    const [a, b] = [parseDg15(encodeTlv(0x6f, spki)), parseDg15(encodeTlv(0x6f, genuine))];
    return a.algorithm === 'rsa' && b.algorithm === 'rsa' && bytesEqual(a.modulus, b.modulus) && bytesEqual(a.publicExponent, b.publicExponent);
  } catch {
    return false;
  }
}

/** Both results are outcomes with the reason the check gives; 'passed' only where `mayPass` says the key is intact. */
function expectOutcomes(checks: ChipChecks, mayPass: { aa: boolean; ca: boolean }): void {
  for (const [what, result, pass] of [
    ['Active Authentication', checks.activeAuthentication, mayPass.aa],
    ['Chip Authentication', checks.chipAuthentication, mayPass.ca],
  ] as const) {
    expect(['passed', 'failed', 'not-possible']).toContain(result.outcome);
    if (result.outcome === 'passed') expect(pass, `${what} passed: ${result.reason}`).toBe(true);
    expect(result.reason.length).toBeGreaterThan(0);
  }
}

describe('authenticateChip: KioskErrors that say the chip failed fail the check; every other error propagates', () => {
  /** A session whose link throws `error` on the first command (the AA command). */
  function throwingChannel(error: Error): { link: ApduTransceiver; channel: SecureMessagingTransceiver } {
    const link: ApduTransceiver = { transmit: () => Promise.reject(error), close: async () => {} };
    return { link, channel: new SecureMessagingTransceiver(link, SecureMessaging.fromKeys('AES-128', KEYS.kEnc, KEYS.kMac, new Uint8Array(16))) };
  }
  const withAaOnly = readOf([], parseDg15(encodeDg15(aaKey.spki)));

  it.each([
    ['CARD_STATUS_ERROR', 'failed'],
    ['CARD_SM_FAILED', 'failed'],
    ['CARD_MALFORMED_RESPONSE', 'failed'],
    ['TLV_MALFORMED', 'failed'],
    ['LDS_MALFORMED', 'failed'],
    ['CARD_UNSUPPORTED', 'not-possible'],
  ] as [ErrorCode, string][])('%s -> %s', async (code, outcome) => {
    const { link, channel } = throwingChannel(new KioskError(code, 'from the chip'));
    const checks = await authenticateChip(link, channel, withAaOnly);
    expect(checks.activeAuthentication).toEqual({ outcome, reason: outcome === 'failed' ? 'Active Authentication failed: from the chip' : 'Active Authentication: from the chip' });
  });

  it.each([
    ['a RangeError', new RangeError('offset is out of bounds')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'length')")],
    ['a plain Error (e.g. from a library)', new Error('invalid point')],
    ['CARD_REMOVED', new KioskError('CARD_REMOVED', 'pulled')],
    ['CARD_TRANSMIT_FAILED', new KioskError('CARD_TRANSMIT_FAILED', 'reader gone')],
    ['APDU_MALFORMED (our own command)', new KioskError('APDU_MALFORMED', 'bad command')],
    ['CONFIG_INVALID (nothing to do with the chip)', new KioskError('CONFIG_INVALID', 'unrelated')],
  ])('%s propagates instead of becoming an outcome', async (_, error) => {
    const { link, channel } = throwingChannel(error);
    await expect(authenticateChip(link, channel, withAaOnly)).rejects.toBe(error);
  });

  it('a RangeError inside Chip Authentication propagates too, after AA passed', async () => {
    const { card, channel } = openCard();
    const error = new RangeError('Offset is outside the bounds of the DataView');
    let commands = 0;
    // AA is one command; the RangeError comes with the first CA command.
    const link: ApduTransceiver = { transmit: (bytes) => (++commands > 1 ? Promise.reject(error) : card.transmit(bytes)), close: async () => {} };
    const raw = new SecureMessagingTransceiver(link, channel.session);
    await expect(authenticateChip(link, raw, readOf(dg14Infos(caKey.spki), parseDg15(encodeDg15(aaKey.spki))))).rejects.toBe(error);
    expect(commands).toBe(2);
  });
});

describe('authenticateChip, fuzzed: garbage keys and answers give outcomes, never a thrown error, and never a pass they should not', () => {
  it('the genuine chip passes both checks (the baseline the mutations start from)', async () => {
    for (const aa of Object.values(AA_KEYS)) {
      const { card, channel } = openCard(aa);
      const checks = await authenticateChip(card, channel, readOf(dg14Infos(caKey.spki), parseDg15(encodeDg15(aa.spki))));
      expect(checks.activeAuthentication.outcome).toBe('passed');
      expect(checks.chipAuthentication.outcome).toBe('passed');
    }
  });

  it.each(Object.entries(AA_KEYS))(`DG15 key %s with 1-4 bytes overwritten, cut or extended (${RUNS.dg15Keys} runs): AA passes only on the same key, CA still passes`, async (name, aa) => {
    const genuine = parseDg15(encodeDg15(aa.spki));
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(mutationsOf(aa.spki), async (spki) => {
        const { card, channel } = openCard(aa);
        // Straight to AA's own boundary, past parseDg15, as a caller holding only the SPKI would.
        const checks = await authenticateChip(card, channel, readOf(dg14Infos(caKey.spki), { ...genuine, spki }));
        seen.add(checks.activeAuthentication.outcome);
        const same = name === 'RSA-1024' ? sameRsaKey(spki, aa.spki) : sameEcKey(spki, aa.spki);
        expectOutcomes(checks, { aa: same, ca: true });
        // AA failing or refusing a key leaves the session usable for CA.
        expect(checks.chipAuthentication.outcome).toBe('passed');
      }),
      { numRuns: RUNS.dg15Keys, seed: SEED },
    );
    expect(seen).toContain('failed');
  }, 120_000);

  it(`DG14 files with 1-4 bytes overwritten, cut or extended (${RUNS.dg14Files} runs), read as parseCardRead does: CA passes only on the same key`, async () => {
    const dg14 = encodeDg14(dg14Infos(caKey.spki));
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(mutationsOf(dg14), async (bytes) => {
        let infos: SecurityInfo[] = [];
        try {
          infos = parseSecurityInfos(bytes);
        } catch (err) {
          // parseCardRead records these as the file's problem and goes on without DG14.
          expect(isKioskError(err, 'TLV_MALFORMED') || isKioskError(err, 'LDS_MALFORMED'), String(err)).toBe(true);
        }
        const { card, channel } = openCard();
        const checks = await authenticateChip(card, channel, readOf(infos, undefined));
        seen.add(checks.chipAuthentication.outcome);
        const key = infos.find((i): i is ChipAuthenticationPublicKeyInfo => i.kind === 'chip-authentication-public-key');
        expectOutcomes(checks, { aa: false, ca: key !== undefined && sameEcKey(key.subjectPublicKeyInfo, caKey.spki) });
      }),
      { numRuns: RUNS.dg14Files, seed: SEED },
    );
    expect(seen).toEqual(new Set(['passed', 'failed', 'not-possible']));
  }, 120_000);

  it(`the DG14 key alone with 1-4 bytes overwritten, cut or extended (${RUNS.dg14Keys} runs): CA passes only on the same key`, async () => {
    await fc.assert(
      fc.asyncProperty(mutationsOf(caKey.spki), async (spki) => {
        const { card, channel } = openCard();
        const checks = await authenticateChip(card, channel, readOf(dg14Infos(spki), undefined));
        expectOutcomes(checks, { aa: false, ca: sameEcKey(spki, caKey.spki) });
      }),
      { numRuns: RUNS.dg14Keys, seed: SEED },
    );
  }, 120_000);

  it(`one of the chip's four answers (AA, MSE:Set AT, GENERAL AUTHENTICATE, the proof) flipped, cut, replaced or bare (${RUNS.answers} runs): that check fails`, async () => {
    const corruption = fc.record({
      apdu: fc.nat({ max: 3 }),
      kind: fc.constantFrom('flip', 'cut', 'random', 'bare-sw'),
      at: fc.nat({ max: 10_000 }),
      bit: fc.nat({ max: 7 }),
      bytes: fc.uint8Array({ maxLength: 64 }),
      sw: fc.constantFrom(0x9000, 0x6982, 0x6988, 0x6a80),
    });
    await fc.assert(
      fc.asyncProperty(corruption, async ({ apdu, kind, at, bit, bytes, sw }) => {
        const { card, channel } = openCard();
        let count = 0;
        const link: ApduTransceiver = {
          async transmit(command) {
            const answer = await card.transmit(command);
            if (count++ !== apdu) return answer;
            if (kind === 'flip') {
              const copy = answer.slice();
              copy[at % copy.length] = copy[at % copy.length]! ^ (1 << bit);
              return copy;
            }
            if (kind === 'cut') return answer.subarray(0, at % answer.length);
            if (kind === 'random') return concatBytes(bytes, Uint8Array.of(0x90, 0x00));
            return Uint8Array.of(sw >> 8, sw & 0xff);
          },
          close: async () => {},
        };
        const checks = await authenticateChip(link, new SecureMessagingTransceiver(link, channel.session), readOf(dg14Infos(caKey.spki), parseDg15(encodeDg15(aaKey.spki))));
        // After a spoiled AA answer CA may still pass: the chip is genuine, and a bare status word leaves the counters in step.
        expectOutcomes(checks, { aa: apdu !== 0, ca: apdu === 0 });
        expect(apdu === 0 ? checks.activeAuthentication.outcome : checks.chipAuthentication.outcome).toBe('failed');
      }),
      { numRuns: RUNS.answers, seed: SEED },
    );
  }, 120_000);
});

describe('AA and CA routines on garbage keys: only LDS_MALFORMED or CARD_UNSUPPORTED, before any command', () => {
  const noCommand: ApduTransceiver = {
    transmit: () => Promise.reject(new Error('no command may be sent for a key that is refused')),
    close: async () => {},
  };
  const session = (): SecureMessagingTransceiver => new SecureMessagingTransceiver(noCommand, SecureMessaging.fromKeys('AES-128', KEYS.kEnc, KEYS.kMac, new Uint8Array(16)));
  /** Random DER-like trees: SEQUENCEs and SETs of INTEGERs, OIDs, strings and times, which asn1js decodes differently. */
  const derTree = fc.letrec<{ node: Uint8Array }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.tuple(fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x1e), fc.uint8Array({ maxLength: 20 })).map(([tag, value]) => encodeTlv(tag, value)),
      fc.tuple(fc.constantFrom(0x30, 0x31, 0xa0), fc.array(tie('node'), { maxLength: 4 })).map(([tag, children]) => encodeTlv(tag, ...children)),
    ),
  })).node;
  const garbageKeys = (genuine: Uint8Array): fc.Arbitrary<Uint8Array> => fc.oneof(mutationsOf(genuine), derTree.map((tree) => encodeTlv(0x30, tree)), fc.uint8Array({ maxLength: 120 }));

  async function codeOf(run: () => Promise<unknown>): Promise<string> {
    try {
      await run();
      return 'no error';
    } catch (err) {
      if (isKioskError(err)) return err.code;
      throw err;
    }
  }

  it('a UTCTime or GeneralizedTime that is no date inside a key (asn1js throws a plain Error on it): LDS_MALFORMED', () => {
    for (const bytes of [fromHex('300318014B'), fromHex('3003170141'), concatBytes(fromHex('3007'), fromHex('3003180141'), fromHex('0500'))]) {
      expect(() => readEcPublicKey(bytes, 'DG14 key')).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    }
  });

  it.each(Object.entries(AA_KEYS))(`performActiveAuthentication, DG15 key %s garbled or replaced (${RUNS.aaKeys} runs)`, async (_, aa) => {
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(garbageKeys(aa.spki), fc.option(fc.constantFrom(ECDSA_PLAIN_SHA256, '1.2.840.10045.4.3.2', '1.2.3.4'), { nil: undefined }), async (spki, signatureAlgorithm) => {
        // A key that is accepted reaches the (refusing) link: its plain Error shows, and only such keys may get there.
        const code = await codeOf(() => performActiveAuthentication(session(), spki, signatureAlgorithm ? { signatureAlgorithm } : {})).catch((err: unknown) => {
          expect(String(err)).toContain('no command may be sent');
          return 'sent';
        });
        codes.add(code);
        expect(['LDS_MALFORMED', 'CARD_UNSUPPORTED', 'sent']).toContain(code);
      }),
      { numRuns: RUNS.aaKeys, seed: SEED },
    );
    expect(codes).toContain('LDS_MALFORMED');
  }, 60_000);

  it.each(Object.entries(CA_KEYS))(`performChipAuthentication, DG14 key %s garbled or replaced (${RUNS.caKeys} runs)`, async (_, ca) => {
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(garbageKeys(ca.spki), fc.option(fc.nat({ max: 3 }), { nil: undefined }), async (spki, keyId) => {
        const channel = session();
        const info = { kind: 'chip-authentication', protocol: ID_CA_ECDH_AES_128, version: 1, keyId: 1 } as const;
        const code = await codeOf(() => performChipAuthentication(noCommand, channel, info, { kind: 'chip-authentication-public-key', protocol: ID_PK_ECDH, subjectPublicKeyInfo: spki, keyId })).catch(
          (err: unknown) => {
            expect(String(err)).toContain('no command may be sent');
            return 'sent';
          },
        );
        codes.add(code);
        expect(['LDS_MALFORMED', 'CARD_UNSUPPORTED', 'sent']).toContain(code);
        // A keyId that names another key is DG14's fault, told before any key is looked at.
        if (keyId !== undefined && keyId !== 1) expect(code).toBe('LDS_MALFORMED');
      }),
      { numRuns: RUNS.caKeys, seed: SEED },
    );
    expect(codes).toContain('LDS_MALFORMED');
    expect(codes).toContain('CARD_UNSUPPORTED');
  }, 60_000);
});
