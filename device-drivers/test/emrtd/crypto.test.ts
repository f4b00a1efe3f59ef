import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { fromHex, toHex } from '../../src/encoding/bytes.js';
import { aesCbcDecrypt, aesCbcEncrypt, aesCmac, aesCmac8, aesSmIv } from '../../src/emrtd/crypto/aes.js';
import { decodePoint, ecDomainById, encodePoint, randomScalar, scalarFromBytes } from '../../src/emrtd/crypto/curves.js';
import { adjustDesParity, retailMac } from '../../src/emrtd/crypto/des.js';
import { deriveKey, KDF_ENC, KDF_MAC, KDF_PACE } from '../../src/emrtd/crypto/kdf.js';
import { pad, unpad } from '../../src/emrtd/crypto/padding.js';

describe('ISO/IEC 9797-1 padding method 2', () => {
  it('pads to the next block, adding a whole block to aligned input', () => {
    expect(toHex(pad(fromHex('011E'), 8))).toBe('011E800000000000');
    expect(toHex(pad(fromHex('0CA4020C'), 16))).toBe('0CA4020C800000000000000000000000');
    expect(toHex(pad(fromHex('0102030405060708'), 8))).toBe('01020304050607088000000000000000');
    expect(toHex(pad(new Uint8Array(0), 8))).toBe('8000000000000000');
  });

  it('unpads, and rejects what is not method-2 padding with CARD_SM_FAILED', () => {
    expect(toHex(unpad(fromHex('011E800000000000'), 8))).toBe('011E');
    expect(toHex(unpad(fromHex('01020304050607088000000000000000'), 8))).toBe('0102030405060708');
    for (const bad of ['011E000000000000', '011E800000000001', '011E8000000000', '', '80000000000000000000000000000000']) {
      let caught: unknown;
      try {
        unpad(fromHex(bad), 8);
      } catch (err) {
        caught = err;
      }
      expect(isKioskError(caught, 'CARD_SM_FAILED'), bad).toBe(true);
    }
  });
});

describe('3DES', () => {
  it('adjusts DES key parity (Appendix D.1)', () => {
    expect(toHex(adjustDesParity(fromHex('AB94FCEDF2664EDFB9B291F85D7F77F2')))).toBe('AB94FDECF2674FDFB9B391F85D7F76F2');
  });

  it('computes the retail MAC of Appendix D.3', () => {
    const e = fromHex('72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2');
    expect(toHex(retailMac(fromHex('7962D9ECE03D1ACD4C76089DCE131543'), e))).toBe('5F1448EEA8AD90A7');
  });
});

describe('ICAO KDF', () => {
  // Password key of Appendix G.1; the extra values are from reference section B (proxmark3-style self-tests).
  const k = fromHex('7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD');

  it('uses SHA-1 for AES-128 and 3DES (3DES with parity)', () => {
    expect(toHex(deriveKey(k, 'AES-128', KDF_PACE))).toBe('89DED1B26624EC1E634C1989302849DD');
    expect(toHex(deriveKey(k, 'AES-128', KDF_ENC))).toBe('3CC5F8872F8B1471B47EEFDDFFC43F46');
    expect(toHex(deriveKey(k, 'AES-128', KDF_MAC))).toBe('BD651C6B2FA9B4704553332007771E84');
    expect(toHex(deriveKey(k, '3DES', KDF_ENC))).toBe('3DC4F8862F8A1570B57FEFDCFEC43E46');
    expect(toHex(deriveKey(k, '3DES', KDF_MAC))).toBe('BC641C6B2FA8B5704552322007761F85');
    expect(toHex(deriveKey(k, '3DES', KDF_PACE))).toBe('89DFD0B36725EC1F624C1989312949DC');
  });

  it('uses SHA-256 for AES-192 and AES-256', () => {
    const expected = [
      '11504483F04A10A66A8FCD6D348C75A961809C54EDAA21174726A97FB37DEF52',
      '1F35D576CE54BA775A391F9749E388C48215B7D544D62D96470ABA7B19F051A3',
      'D79A23C126202AC9051FEBFBC0E8A03B1C6645D85752B4B71408FA229AB6D56B',
    ];
    expect([KDF_ENC, KDF_MAC, KDF_PACE].map((c) => toHex(deriveKey(k, 'AES-256', c)))).toEqual(expected);
    expect([KDF_ENC, KDF_MAC, KDF_PACE].map((c) => toHex(deriveKey(k, 'AES-192', c)))).toEqual(expected.map((h) => h.slice(0, 48)));
  });
});

describe('AES', () => {
  // RFC 4493 §4 test vectors.
  const key = fromHex('2B7E151628AED2A6ABF7158809CF4F3C');
  const message = fromHex('6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710');

  it('computes AES-CMAC (RFC 4493) and its 8-byte truncation', () => {
    expect(toHex(aesCmac(key, new Uint8Array(0)))).toBe('BB1D6929E95937287FA37D129B756746');
    expect(toHex(aesCmac(key, message.subarray(0, 16)))).toBe('070A16B46B4D4144F79BDD9DD04A287C');
    expect(toHex(aesCmac(key, message.subarray(0, 40)))).toBe('DFA66747DE9AE63030CA32611497C827');
    expect(toHex(aesCmac(key, message))).toBe('51F0BEBF7E3B9D92FC49741779363CFE');
    expect(toHex(aesCmac8(key, message))).toBe('51F0BEBF7E3B9D92');
  });

  it('encrypts CBC without padding for all key sizes and derives the SM IV from the SSC', () => {
    for (const size of [16, 24, 32]) {
      const k = new Uint8Array(size).map((_, i) => i);
      const iv = new Uint8Array(16).fill(7);
      expect(toHex(aesCbcDecrypt(k, iv, aesCbcEncrypt(k, iv, message)))).toBe(toHex(message));
    }
    expect(() => aesCbcEncrypt(key, new Uint8Array(16), new Uint8Array(15))).toThrow(RangeError);
    // FIPS-197 Appendix C.1: AES-128 of 00112233...FF under 000102...0F.
    const fipsKey = fromHex('000102030405060708090A0B0C0D0E0F');
    expect(toHex(aesSmIv(fipsKey, fromHex('00112233445566778899AABBCCDDEEFF')))).toBe('69C4E0D86A7B0430D8CDB78070B4C55A');
  });
});

describe('elliptic-curve domains', () => {
  const ids = [12, 13, 14, 15, 16, 17, 18];
  const opensslNames: Record<number, string> = {
    12: 'prime256v1',
    13: 'brainpoolP256r1',
    14: 'brainpoolP320r1',
    15: 'secp384r1',
    16: 'brainpoolP384r1',
    17: 'brainpoolP512r1',
    18: 'secp521r1',
  };

  it.each(ids)('parameter id %i has a generator of order n and agrees with OpenSSL', (id) => {
    const domain = ecDomainById(id)!;
    const { BASE } = domain.Point;
    BASE.assertValidity();
    expect(BASE.multiply(domain.order - 1n).add(BASE).is0()).toBe(true);
    const k = domain.order / 3n + 12345n;
    const p = BASE.multiply(k);
    const ecdh = createECDH(opensslNames[id]!);
    ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(2 * domain.fieldSize, '0'), 'hex'));
    expect(toHex(encodePoint(p))).toBe(toHex(ecdh.getPublicKey()));
    const encoded = encodePoint(p);
    expect(encoded.length).toBe(1 + 2 * domain.fieldSize);
    expect(decodePoint(domain, encoded)?.equals(p)).toBe(true);
  });

  it('names the standardized curves and knows no DH groups or unknown ids', () => {
    expect(ids.map((id) => ecDomainById(id)?.name)).toEqual(['NIST P-256', 'brainpoolP256r1', 'brainpoolP320r1', 'NIST P-384', 'brainpoolP384r1', 'brainpoolP512r1', 'NIST P-521']);
    for (const id of [0, 2, 11, 19]) expect(ecDomainById(id)).toBeUndefined();
  });

  it('rejects compressed, truncated, off-curve and foreign-curve points', () => {
    const bp256 = ecDomainById(13)!;
    const p = bp256.Point.BASE.multiply(5n);
    const encoded = encodePoint(p);
    expect(decodePoint(bp256, p.toBytes(true))).toBeUndefined();
    expect(decodePoint(bp256, encoded.subarray(0, 64))).toBeUndefined();
    const offCurve = encoded.slice();
    offCurve[64] = (offCurve[64] as number) ^ 1;
    expect(decodePoint(bp256, offCurve)).toBeUndefined();
    expect(decodePoint(bp256, encodePoint(ecDomainById(12)!.Point.BASE))).toBeUndefined();
    expect(decodePoint(bp256, new Uint8Array(65).fill(0))).toBeUndefined();
  });

  it('accepts private scalars only in [1, n-1] and draws random ones there', () => {
    const p256 = ecDomainById(12)!;
    const k = randomScalar(p256);
    expect(k >= 1n && k < p256.order).toBe(true);
    expect(scalarFromBytes(p256, Uint8Array.of(1))).toBe(1n);
    expect(() => scalarFromBytes(p256, new Uint8Array(32))).toThrow(RangeError);
    expect(() => scalarFromBytes(p256, new Uint8Array(32).fill(0xff))).toThrow(RangeError);
  });
});
