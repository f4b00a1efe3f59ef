import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { encodeDg15, parseDg15, parseSubjectPublicKeyInfo } from '../../src/emrtd/lds/dg15.js';
import { encodeOid } from '../../src/encoding/der.js';
import { mutationsOf, onlyTypedErrors as typedErrorsOnly } from './fuzz.js';

/** Fixed seed: the same cases on every run. */
const SEED = 9303;
const FUZZ_RUNS = 4000;

const spki = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));
const RSA_1024 = spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
const P256 = spki(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
const BRAINPOOL_P256 = spki(generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' }).publicKey);
const BRAINPOOL_EXPLICIT = spki(generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1', paramEncoding: 'explicit' }).publicKey);
const ED25519 = spki(generateKeyPairSync('ed25519').publicKey);

const onlyTypedErrors = typedErrorsOnly(parseDg15, ['TLV_MALFORMED', 'LDS_MALFORMED', 'CARD_UNSUPPORTED']);

const mutation = mutationsOf;

/** An RSA SubjectPublicKeyInfo around a given modulus and exponent (unsigned big-endian). */
function rsaSpki(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  const integer = (magnitude: Uint8Array): Uint8Array => encodeTlv(0x02, (magnitude[0] as number) & 0x80 ? Uint8Array.from([0, ...magnitude]) : magnitude);
  const algorithm = encodeTlv(0x30, encodeTlv(0x06, encodeOid('1.2.840.113549.1.1.1')), Uint8Array.of(0x05, 0x00));
  return encodeTlv(0x30, algorithm, encodeTlv(0x03, Uint8Array.of(0), encodeTlv(0x30, integer(modulus), integer(exponent))));
}

describe('DG15 (Active Authentication public key)', () => {
  it('reads an RSA key', () => {
    const key = parseDg15(encodeDg15(RSA_1024));
    expect(key).toMatchObject({ algorithm: 'rsa', keyBits: 1024, spki: RSA_1024 });
    if (key.algorithm !== 'rsa') throw new Error('not RSA');
    expect(toHex(key.publicExponent)).toBe('010001');
    expect(key.modulus).toHaveLength(128);
  });

  it('reads EC keys with named curves and with explicit parameters', () => {
    expect(parseDg15(encodeDg15(P256))).toMatchObject({ algorithm: 'ec', curve: '1.2.840.10045.3.1.7', keyBits: 256, explicitParameters: undefined });
    const brainpool = parseDg15(encodeDg15(BRAINPOOL_P256));
    expect(brainpool).toMatchObject({ algorithm: 'ec', curve: '1.3.36.3.3.2.8.1.1.7', keyBits: 256 });
    if (brainpool.algorithm !== 'ec') throw new Error('not EC');
    expect(brainpool.publicPoint).toHaveLength(65);
    expect(brainpool.publicPoint[0]).toBe(0x04);
    const explicit = parseDg15(encodeDg15(BRAINPOOL_EXPLICIT));
    expect(explicit).toMatchObject({ algorithm: 'ec', curve: undefined, keyBits: 256 });
    if (explicit.algorithm !== 'ec') throw new Error('not EC');
    expect(explicit.explicitParameters?.[0]).toBe(0x30);
  });

  it('wraps the SPKI in 6F and refuses other templates, algorithms and broken keys', () => {
    expect(toHex(encodeDg15(P256).subarray(0, 2))).toBe(`6F${P256.length.toString(16).toUpperCase()}`);
    expect(() => parseDg15(encodeTlv(0x6e, P256))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    expect(() => parseDg15(encodeTlv(0x6f, ED25519))).toThrow(expect.objectContaining({ code: 'CARD_UNSUPPORTED' }));
    expect(() => parseSubjectPublicKeyInfo(rsaSpki(new Uint8Array(0), Uint8Array.of(3)))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    expect(() => parseSubjectPublicKeyInfo(rsaSpki(Uint8Array.of(0), Uint8Array.of(3)))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    const unusedBits = P256.slice();
    unusedBits[P256.length - 66] = 1; // the BIT STRING's unused-bits byte, just before 04 || X || Y
    expect(() => parseSubjectPublicKeyInfo(unusedBits)).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
    expect(() => encodeDg15(fromHex('3000'))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
  });

  it('keyBits is the modulus bit length, and parse(encode(spki)) keeps the SPKI (2000 runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }).filter((m) => m[0] !== 0), fc.uint8Array({ minLength: 1, maxLength: 4 }).filter((e) => e[0] !== 0), (modulus, exponent) => {
        const bytes = rsaSpki(modulus, exponent);
        const key = parseDg15(encodeDg15(bytes));
        expect(key.spki).toEqual(bytes);
        expect(key.keyBits).toBe(BigInt(`0x${toHex(modulus)}`).toString(2).length);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it(`fuzz: arbitrary and mutated DG15 files give only typed errors (${FUZZ_RUNS} runs each)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
    const valid = [RSA_1024, P256, BRAINPOOL_EXPLICIT].map((k) => encodeDg15(k));
    fc.assert(fc.property(fc.constantFrom(...valid).chain(mutation), onlyTypedErrors), { numRuns: FUZZ_RUNS, seed: SEED });
  });
});
