import { constants, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { fromHex } from '../../src/encoding/bytes.js';
import { ASN1_TAG, encodeOid } from '../../src/encoding/der.js';
import { decodeTlv, encodeTlv } from '../../src/encoding/tlv.js';
import { asMalformed } from '../../src/verify/sod.js';
import { HOSPITAL_POLICY, NOTARY_POLICY, TrustStore, parseCertificate, parseSod, verifyDocument, verifySignature } from '../../src/verify/index.js';
import { mutationsOf } from '../emrtd/fuzz.js';

const SEED = 9303;
const FUZZ_RUNS = 2000;
const ECDSA_SHA256 = fromHex('300a06082a8648ce3d040302');

// A structurally complete EF.SOD with an unsigned placeholder signature: enough to drive the parser.
const oid = (dotted: string) => encodeTlv(ASN1_TAG.OID, encodeOid(dotted));
const seq = (...parts: Uint8Array[]) => encodeTlv(0x30, ...parts);
const int = (n: number) => encodeTlv(0x02, Uint8Array.of(n));
const sha256Id = seq(oid('2.16.840.1.101.3.4.2.1'));
const lds = seq(int(0), sha256Id, seq(seq(int(1), encodeTlv(0x04, new Uint8Array(32))), seq(int(2), encodeTlv(0x04, new Uint8Array(32).fill(2)))));
const signerInfo = seq(
  int(1),
  seq(seq(encodeTlv(0x31, seq(oid('2.5.4.6'), encodeTlv(0x13, new TextEncoder().encode('VN'))))), int(5)),
  sha256Id,
  encodeTlv(0xa0, seq(oid('1.2.840.113549.1.9.3'), encodeTlv(0x31, oid('2.23.136.1.1.1')))),
  ECDSA_SHA256,
  encodeTlv(0x04, Uint8Array.of(0x30, 0x00)),
);
const signedData = seq(int(3), encodeTlv(0x31, sha256Id), seq(oid('2.23.136.1.1.1'), encodeTlv(0xa0, encodeTlv(0x04, lds))), encodeTlv(0x31, signerInfo));
const SOD = encodeTlv(0x77, seq(oid('1.2.840.113549.1.7.2'), encodeTlv(0xa0, signedData)));

describe('parseSod', () => {
  it('reads the LDSSecurityObject and the SignerInfo of a well-formed SOD', () => {
    const sod = parseSod(SOD);
    expect(sod.lds.hash).toBe('sha256');
    expect([...sod.lds.dataGroupHashes.keys()]).toEqual([1, 2]);
    expect(sod.signerInfo.sid).toMatchObject({ serialNumber: 5n });
    expect(sod.signerInfo.signedAttributes?.[0]).toBe(0x31);
  });

  it.each([
    ['an empty file', new Uint8Array(0)],
    ['a wrong outer tag', Uint8Array.of(0x30, 0x00)],
    ['trailing bytes', Uint8Array.from([...SOD, 0x00])],
    ['a truncated file', SOD.subarray(0, SOD.length - 3)],
    // id-signedData with a non-minimal arc (80 86 48 for 840): a lenient OID reader would accept it.
    ['a non-minimal contentType OID', encodeTlv(0x77, seq(encodeTlv(0x06, fromHex('2A80864886F70D010702')), encodeTlv(0xa0, signedData)))],
  ])('throws LDS_MALFORMED on %s', (_, bytes) => {
    expect(() => parseSod(bytes)).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
  });

  it(`never crashes on ${FUZZ_RUNS} mutated SODs, and a mutated SOD never verifies`, () => {
    const counts = { parsed: 0, malformed: 0 };
    fc.assert(
      fc.property(mutationsOf(SOD), (bytes) => {
        try {
          parseSod(bytes);
          counts.parsed++;
        } catch (err) {
          if (!isKioskError(err, 'LDS_MALFORMED')) throw err;
          counts.malformed++;
        }
        const verdict = verifyDocument({ files: new Map([['EF.SOD', bytes]]), trust: new TrustStore(), policy: HOSPITAL_POLICY, at: new Date(0) });
        expect(verdict.decision).toBe('reject');
        expect(verdict.checks.sodSignature.outcome).not.toBe('passed');
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
    expect(counts.parsed + counts.malformed).toBe(FUZZ_RUNS);
    expect(counts.malformed).toBeGreaterThan(0);
  });
});

describe('verifySignature', () => {
  const data = new TextEncoder().encode('signed attributes');

  it('verifies ECDSA on brainpoolP256r1 and rejects a changed message', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const signature = new Uint8Array(sign('sha256', data, privateKey));
    expect(verifySignature({ spki, algorithm: ECDSA_SHA256, data, signature }).outcome).toBe('passed');
    expect(verifySignature({ spki, algorithm: ECDSA_SHA256, data: data.subarray(1), signature }).outcome).toBe('failed');
  });

  it('maps explicit P-256 domain parameters to the named curve', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const point = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })).subarray(-65);
    const explicit = seq(
      int(1),
      seq(oid('1.2.840.10045.1.1'), encodeTlv(0x02, fromHex('00ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'))),
      seq(encodeTlv(0x04, fromHex('ffffffff00000001000000000000000000000000fffffffffffffffffffffffc')), encodeTlv(0x04, fromHex('5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b'))),
      encodeTlv(0x04, fromHex('046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5')),
      encodeTlv(0x02, fromHex('00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')),
      int(1),
    );
    const spki = seq(seq(oid('1.2.840.10045.2.1'), explicit), encodeTlv(0x03, Uint8Array.from([0, ...point])));
    const signature = new Uint8Array(sign('sha256', data, privateKey));
    expect(verifySignature({ spki, algorithm: ECDSA_SHA256, data, signature }).outcome).toBe('passed');
    const unknownCurve = spki.slice();
    const bAt = spki.indexOf(0x5a); // first byte of the curve coefficient b
    unknownCurve[bAt] = 0x5b;
    const result = verifySignature({ spki: unknownCurve, algorithm: ECDSA_SHA256, data, signature });
    expect(result.outcome).toBe('not-possible');
    expect(result.reason).toMatch(/no known named curve/);
  });

  // RSASSA-PSS-params with SHA-256, MGF1-SHA-256 and the given salt length (a DER INTEGER's content bytes).
  const pssAlgorithm = (salt: Uint8Array) =>
    seq(
      oid('1.2.840.113549.1.1.10'),
      seq(
        encodeTlv(0xa0, seq(oid('2.16.840.1.101.3.4.2.1'))),
        encodeTlv(0xa1, seq(oid('1.2.840.113549.1.1.8'), seq(oid('2.16.840.1.101.3.4.2.1')))),
        encodeTlv(0xa2, encodeTlv(0x02, salt)),
      ),
    );
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const rsaSpki = new Uint8Array(rsa.publicKey.export({ format: 'der', type: 'spki' }));
  const pssSignature = new Uint8Array(sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }));

  it('verifies RSA-PSS with the salt length its parameters give', () => {
    expect(verifySignature({ spki: rsaSpki, algorithm: pssAlgorithm(Uint8Array.of(32)), data, signature: pssSignature }).outcome).toBe('passed');
    expect(verifySignature({ spki: rsaSpki, algorithm: pssAlgorithm(Uint8Array.of(20)), data, signature: pssSignature }).outcome).toBe('failed');
  });

  it.each([
    ['-1 (OpenSSL would read "digest length")', Uint8Array.of(0xff)],
    ['-2 (OpenSSL would read "any")', Uint8Array.of(0xfe)],
    ['-5 (OpenSSL throws)', Uint8Array.of(0xfb)],
    ['2^40 (node:crypto throws a TypeError)', Uint8Array.of(0x01, 0, 0, 0, 0, 0)],
  ])('an RSA-PSS salt length of %s from the SOD is not possible to verify, not a TypeError or a lenient check', (_, salt) => {
    const result = verifySignature({ spki: rsaSpki, algorithm: pssAlgorithm(salt), data, signature: pssSignature });
    expect(result.outcome).toBe('not-possible');
    expect(result.reason).toMatch(/RSA-PSS salt length -?\d+ is outside 0\.\.2048/);
  });

  it(`fuzz: mutated RSA-PSS algorithms and mutated RSA and EC keys give an outcome, never an exception (${FUZZ_RUNS} runs each)`, () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1', paramEncoding: 'explicit' });
    const ecSpki = new Uint8Array(ec.publicKey.export({ format: 'der', type: 'spki' }));
    const ecSignature = new Uint8Array(sign('sha256', data, ec.privateKey));
    const outcomes = new Set<string>();
    const cases: [fc.Arbitrary<Uint8Array>, (bytes: Uint8Array) => Parameters<typeof verifySignature>[0]][] = [
      [mutationsOf(pssAlgorithm(Uint8Array.of(32))), (algorithm) => ({ spki: rsaSpki, algorithm, data, signature: pssSignature })],
      [mutationsOf(rsaSpki), (spki) => ({ spki, algorithm: pssAlgorithm(Uint8Array.of(32)), data, signature: pssSignature })],
      [mutationsOf(ecSpki), (spki) => ({ spki, algorithm: ECDSA_SHA256, data, signature: ecSignature })],
    ];
    for (const [bytes, input] of cases) {
      fc.assert(
        fc.property(bytes, (b) => {
          outcomes.add(verifySignature(input(b)).outcome);
        }),
        { numRuns: FUZZ_RUNS, seed: SEED },
      );
    }
    expect(outcomes).toEqual(new Set(['passed', 'failed', 'not-possible']));
  });

  it('reports an unsupported algorithm as not possible', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    expect(verifySignature({ spki, algorithm: seq(oid('1.2.3.4')), data, signature: new Uint8Array(8) }).outcome).toBe('not-possible');
  });
});

describe('asMalformed', () => {
  it('turns a structure error of the TLV reader into LDS_MALFORMED naming the part, and lets a bug through as itself', () => {
    expect(() => asMalformed('EF.SOD', () => decodeTlv(Uint8Array.of(0x30, 0x05)))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED', message: expect.stringMatching(/^EF\.SOD: /) as unknown as string }));
    const bug = new RangeError('Offset is outside the bounds of the DataView');
    expect(() =>
      asMalformed('EF.SOD', () => {
        throw bug;
      }),
    ).toThrow(bug);
    expect(() =>
      asMalformed('EF.SOD', () => {
        throw new TypeError('x is undefined');
      }),
    ).toThrow(TypeError);
  });
});

describe('parseCertificate', () => {
  it('throws LDS_MALFORMED on bytes that are no certificate', () => {
    expect(() => parseCertificate(seq(int(1)))).toThrow(expect.objectContaining({ code: 'LDS_MALFORMED' }));
  });
});

describe('policies', () => {
  it('reject a document whose SOD is missing, whatever the policy', () => {
    for (const policy of [HOSPITAL_POLICY, NOTARY_POLICY]) {
      const verdict = verifyDocument({ files: new Map(), trust: new TrustStore(), policy });
      expect(verdict).toMatchObject({ decision: 'reject', checks: { sodSignature: { outcome: 'failed', reason: 'EF.SOD was not read' } } });
    }
  });

  it('copy the AA and CA outcomes into their slots', () => {
    const verdict = verifyDocument({ files: new Map(), trust: new TrustStore(), policy: HOSPITAL_POLICY, chipAuthentication: { outcome: 'failed', reason: 'MAC mismatch' } });
    expect(verdict.checks.chipAuthentication).toEqual({ outcome: 'failed', reason: 'MAC mismatch' });
    expect(verdict.checks.activeAuthentication.outcome).toBe('not-possible');
  });
});
