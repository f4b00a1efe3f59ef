import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { encodeOid } from '../../src/encoding/der.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import type { SecurityInfo } from '../../src/emrtd/security-infos-types.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';
import {
  CA_PROTOCOLS,
  PACE_PROTOCOLS,
  chipAuthenticationProtocol,
  encodeDg14,
  encodeSecurityInfos,
  paceProtocol,
  parseSecurityInfos,
} from '../../src/emrtd/lds/security-infos.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;
// Reference D.2: the EF.CardAccess that Vietnamese eKYC apps hard-code for CCCD chips.
const CCCD_CARD_ACCESS = '3134300D060804007F0007020202020101300F060A04007F000702020302020201013012060A04007F0007020204020202010202010D';
// ICAO 9303-11 Appendix G.1.
const ICAO_G1_CARD_ACCESS = '31143012060A04007F0007020204020202010202010D';
const EC_SPKI = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' }).publicKey.export({ type: 'spki', format: 'der' }));

const onlyTypedErrors = typedErrorsOnly(parseSecurityInfos);

const mutation = mutationsOf;

describe('SecurityInfos', () => {
  it('reads the CCCD EF.CardAccess: TA v1, CA ECDH-AES-128 v1, PACE ECDH-GM-AES-128 v2 on brainpoolP256r1', () => {
    const infos = parseSecurityInfos(fromHex(CCCD_CARD_ACCESS));
    expect(infos).toEqual([
      { kind: 'terminal-authentication', protocol: '0.4.0.127.0.7.2.2.2', version: 1 },
      { kind: 'chip-authentication', protocol: '0.4.0.127.0.7.2.2.3.2.2', version: 1, keyId: undefined },
      { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.2.2', version: 2, parameterId: 13 },
    ]);
    expect(paceProtocol('0.4.0.127.0.7.2.2.4.2.2')).toMatchObject({ name: 'id-PACE-ECDH-GM-AES-CBC-CMAC-128', keyAgreement: 'ECDH', mapping: 'GM', cipher: 'AES-128' });
    expect(chipAuthenticationProtocol('0.4.0.127.0.7.2.2.3.2.2')).toMatchObject({ name: 'id-CA-ECDH-AES-CBC-CMAC-128', keyAgreement: 'ECDH', cipher: 'AES-128' });
    expect(toHex(encodeSecurityInfos(infos))).toBe(CCCD_CARD_ACCESS);
  });

  it('reads the ICAO Appendix G.1 EF.CardAccess and the same infos inside DG14', () => {
    const infos = parseSecurityInfos(fromHex(ICAO_G1_CARD_ACCESS));
    expect(infos).toEqual([{ kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.2.2', version: 2, parameterId: 13 }]);
    const dg14 = encodeDg14(infos);
    expect(toHex(dg14)).toBe(`6E16${ICAO_G1_CARD_ACCESS}`);
    expect(parseSecurityInfos(dg14)).toEqual(infos);
  });

  it('reads DG14 records: CA public key, AA, PACE domain parameters, unknown ones kept raw', () => {
    const unknown = encodeTlv(0x30, encodeTlv(0x06, encodeOid('2.23.136.1.1.6')), Uint8Array.of(0x02, 0x01, 0x01));
    const domainParameter = encodeTlv(0x30, encodeTlv(0x06, encodeOid('0.4.0.127.0.7.1.2')), Uint8Array.of(0x02, 0x01, 0x0d));
    const infos: SecurityInfo[] = [
      { kind: 'chip-authentication-public-key', protocol: '0.4.0.127.0.7.2.2.1.2', subjectPublicKeyInfo: EC_SPKI, keyId: 7 },
      { kind: 'chip-authentication', protocol: '0.4.0.127.0.7.2.2.3.2.4', version: 1, keyId: 7 },
      { kind: 'active-authentication', protocol: '2.23.136.1.1.5', version: 1, signatureAlgorithm: '0.4.0.127.0.7.1.1.4.1.3' },
      { kind: 'pace-domain-parameters', protocol: '0.4.0.127.0.7.2.2.4.2', domainParameter, parameterId: 1 },
      { kind: 'unknown', protocol: '2.23.136.1.1.6', raw: unknown },
    ];
    expect(parseSecurityInfos(encodeDg14(infos))).toEqual(infos);
  });

  it('lists the PACE and CA protocol suites', () => {
    expect(PACE_PROTOCOLS).toHaveLength(19);
    expect(CA_PROTOCOLS).toHaveLength(8);
    expect(paceProtocol('0.4.0.127.0.7.2.2.4.6.2')).toMatchObject({ name: 'id-PACE-ECDH-CAM-AES-CBC-CMAC-128', mapping: 'CAM' });
    expect(paceProtocol('0.4.0.127.0.7.2.2.4.1.1')).toMatchObject({ name: 'id-PACE-DH-GM-3DES-CBC-CBC', keyAgreement: 'DH', cipher: '3DES' });
    expect(paceProtocol('0.4.0.127.0.7.2.2.4.6.1')).toBeUndefined();
  });

  it('a malformed protocol OID is LDS_MALFORMED naming the file (the strict decoder of encoding/der.ts)', () => {
    expect(() => parseSecurityInfos(fromHex('310D300B0603 2A8001 020101 020101'))).toThrow(/^EF\.CardAccess: OBJECT IDENTIFIER arc with a leading 80 byte$/);
    expect(() => parseSecurityInfos(fromHex('310D300B0603 2A8001 020101 020101'))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
  });

  it('refuses malformed records of known protocols and non-SET files', () => {
    const malformed: unknown = expect.objectContaining({ code: 'LDS_MALFORMED' });
    expect(() => parseSecurityInfos(fromHex('3111300F060A04007F000702020402020C0102'))).toThrow(malformed); // PACE version not INTEGER
    expect(() => parseSecurityInfos(fromHex('3111300F060A04007F0007020204020202 01FF'))).toThrow(malformed); // negative version
    expect(() => parseSecurityInfos(fromHex('310F300D060804007F00070202020C0101'))).toThrow(malformed); // TA version not INTEGER
    expect(() => parseSecurityInfos(fromHex('31133011060A04007F0007020204020202 010205 00'))).toThrow(malformed); // parameterId NULL
    expect(() => parseSecurityInfos(fromHex('31173015060A04007F0007020204020202010202010D020100'))).toThrow(malformed); // extra element
    expect(() => parseSecurityInfos(fromHex('30143012060A04007F0007020204020202010202010D'))).toThrow(malformed); // not a SET
    expect(() => parseSecurityInfos(fromHex(`${ICAO_G1_CARD_ACCESS}00`))).toThrow(malformed); // trailing byte
    expect(() => encodeSecurityInfos([{ kind: 'unknown', protocol: '0.4.0.127.0.7.2.2.2', raw: fromHex('300D060804007F0007020202020101') }])).toThrow(RangeError);
  });
});

const pace = fc.record({
  kind: fc.constant('pace' as const),
  protocol: fc.constantFrom(...PACE_PROTOCOLS.map((p) => p.oid)),
  version: fc.nat({ max: 1000 }),
  parameterId: fc.option(fc.nat({ max: 31 }), { nil: undefined }),
});
const ca = fc.record({
  kind: fc.constant('chip-authentication' as const),
  protocol: fc.constantFrom(...CA_PROTOCOLS.map((p) => p.oid)),
  version: fc.nat({ max: 10 }),
  keyId: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
});
const caKey = fc.record({
  kind: fc.constant('chip-authentication-public-key' as const),
  protocol: fc.constantFrom('0.4.0.127.0.7.2.2.1.1', '0.4.0.127.0.7.2.2.1.2'),
  subjectPublicKeyInfo: fc.uint8Array({ maxLength: 40 }).map((v) => encodeTlv(0x30, encodeTlv(0x04, v))),
  keyId: fc.option(fc.nat(), { nil: undefined }),
});
const ta = fc.record({ kind: fc.constant('terminal-authentication' as const), protocol: fc.constant('0.4.0.127.0.7.2.2.2'), version: fc.constantFrom(1, 2) });
const aa = fc.record({
  kind: fc.constant('active-authentication' as const),
  protocol: fc.constant('2.23.136.1.1.5'),
  version: fc.constant(1),
  signatureAlgorithm: fc.constantFrom('0.4.0.127.0.7.1.1.4.1.2', '0.4.0.127.0.7.1.1.4.1.3', '0.4.0.127.0.7.1.1.4.1.4'),
});
const unknown = fc
  .tuple(fc.array(fc.nat({ max: 100_000 }), { minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 20 }))
  .map(([arcs, data]) => {
    const protocol = ['1.3.6.1.4.1.99999', ...arcs].join('.');
    return { kind: 'unknown' as const, protocol, raw: encodeTlv(0x30, encodeTlv(0x06, encodeOid(protocol)), encodeTlv(0x04, data)) };
  });
const securityInfos = fc.array(fc.oneof(pace, ca, caKey, ta, aa, unknown), { maxLength: 6 });

describe('SecurityInfos properties', () => {
  it('parse(encode(x)) gives back x, bare and in DG14 (2000 runs)', () => {
    fc.assert(
      fc.property(securityInfos, (infos) => {
        expect(parseSecurityInfos(encodeSecurityInfos(infos))).toEqual(infos);
        expect(parseSecurityInfos(encodeDg14(infos))).toEqual(infos);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary, mutated and truncated SecurityInfos give only TLV_MALFORMED / LDS_MALFORMED (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }).map((b) => Uint8Array.from([0x31, b.length, ...b])), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(fc.property(fc.constantFrom(fromHex(CCCD_CARD_ACCESS), encodeDg14(parseSecurityInfos(fromHex(CCCD_CARD_ACCESS)))).chain(mutation), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    fc.assert(
      fc.property(securityInfos, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (infos, cut, at, value) => {
        const bytes = encodeSecurityInfos(infos).slice();
        bytes[at % bytes.length] = value;
        onlyTypedErrors(bytes);
        onlyTypedErrors(bytes.subarray(0, cut % bytes.length));
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
  });
});
