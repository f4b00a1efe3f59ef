import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { CA_FILES, checkCsr, decodeBase64Body, DevCa, normalizeSerial } from '../src/index.js';
import { x509 } from '../src/ca/x509.js';
import { HOUR, makeCsr, refusalCode, SEED, tempCaDir, withBadSignature, type TestCsr } from './ca-helpers.js';

const FUZZ_RUNS = 300;

describe('development CA', () => {
  let clock = new Date();
  let ca: DevCa;
  let dir: string;
  let csr: TestCsr;

  beforeAll(async () => {
    dir = tempCaDir();
    ca = await DevCa.open(dir, { now: () => clock, validityDays: 30 });
    csr = await makeCsr();
  });
  afterAll(() => ca.close());

  it('creates a P-256 CA whose keys are readable by the owner only, and reopens the same CA', async () => {
    expect(statSync(join(dir, CA_FILES.caKey)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, CA_FILES.serverKey)).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(dir, CA_FILES.caCert)));
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const again = await DevCa.open(dir);
    expect(again.fingerprint256).toBe(ca.fingerprint256);
    again.close();
  });

  it('takes the subject from the token, never from the CSR, and issues a clientAuth certificate for the configured validity', async () => {
    const { token, deviceId } = ca.createToken({ site: 'hn-badinh', profile: 'one-stop', ttlMs: HOUR, deviceSerial: 'KS-0042' });
    const claiming = await makeCsr('CN=hn-badinh-KS-9999, OU=notary');
    const { certificate, record } = await ca.enroll(token, claiming.der);
    const node = new X509Certificate(Buffer.from(certificate.rawData));
    expect(deviceId).toBe('hn-badinh-KS-0042');
    expect(node.subject).toContain('CN=hn-badinh-KS-0042');
    expect(node.subject).toContain('OU=one-stop');
    expect(node.subject).toContain('L=hn-badinh');
    expect(node.subject).not.toContain('KS-9999');
    expect(node.checkIssued(new X509Certificate(ca.pem))).toBe(true);
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(Date.parse(node.validTo) - Date.parse(node.validFrom)).toBe(30 * 24 * HOUR);
    expect(record).toMatchObject({ deviceId, site: 'hn-badinh', profile: 'one-stop', issuedBy: 'enroll', revokedAt: null });
  });

  it('refuses an unknown, a reused and an expired token with distinct codes, and spends a token only on success', async () => {
    expect(await refusalCode(ca.enroll('not-a-token', csr.der))).toBe('PROVISION_TOKEN_INVALID');
    expect(await refusalCode(ca.enroll(undefined, csr.der))).toBe('PROVISION_TOKEN_INVALID');
    const { token } = ca.createToken({ site: 'dn-haichau', profile: 'hospital', ttlMs: HOUR });
    expect(await refusalCode(ca.enroll(token, withBadSignature(csr.der)))).toBe('PROVISION_CSR_SIGNATURE');
    await ca.enroll(token, csr.der);
    expect(await refusalCode(ca.enroll(token, csr.der))).toBe('PROVISION_TOKEN_USED');
    const short = ca.createToken({ site: 'dn-haichau', profile: 'hospital', ttlMs: HOUR });
    clock = new Date(clock.getTime() + HOUR + 1);
    expect(await refusalCode(ca.enroll(short.token, csr.der))).toBe('PROVISION_TOKEN_EXPIRED');
  });

  it('refuses an RSA-1024 key and a CSR whose signature does not verify', async () => {
    const { token } = ca.createToken({ site: 'hcm-q1', profile: 'notary', ttlMs: HOUR });
    expect(await refusalCode(ca.enroll(token, (await makeCsr('CN=x', 'rsa1024')).der))).toBe('PROVISION_CSR_WEAK_KEY');
    expect(await refusalCode(ca.enroll(token, withBadSignature(csr.der)))).toBe('PROVISION_CSR_SIGNATURE');
    expect(await refusalCode(ca.enroll(token, csr.der.subarray(0, 40)))).toBe('PROVISION_CSR_MALFORMED');
  });

  it('re-enrolls the holder of a current certificate under the same subject, refuses a revoked or foreign one, and lists revocations in the CRL', async () => {
    const { token } = ca.createToken({ site: 'hn-caugiay', profile: 'hospital', ttlMs: HOUR, deviceSerial: 'RE-1' });
    const first = await ca.enroll(token, csr.der);
    const next = await makeCsr('CN=someone-else');
    const renewed = await ca.reenroll(new Uint8Array(first.certificate.rawData), next.der);
    expect(renewed.certificate.subject).toBe(first.certificate.subject);
    expect(renewed.record).toMatchObject({ issuedBy: 'reenroll', replaces: normalizeSerial(first.certificate.serialNumber) });

    await ca.revoke(first.certificate.serialNumber.toLowerCase());
    expect(await refusalCode(ca.reenroll(new Uint8Array(first.certificate.rawData), next.der))).toBe('PROVISION_CERT_REVOKED');
    const crl = new x509.X509Crl(readFileSync(join(dir, CA_FILES.crlDer)));
    expect(crl.findRevoked(first.certificate)).not.toBeNull();
    expect(crl.findRevoked(renewed.certificate)).toBeNull();
    expect(await crl.verify({ publicKey: ca.certificate.publicKey })).toBe(true);

    const foreign = await DevCa.open(tempCaDir());
    const foreignToken = foreign.createToken({ site: 'hn-caugiay', profile: 'hospital', ttlMs: HOUR, deviceSerial: 'RE-1' });
    const stranger = await foreign.enroll(foreignToken.token, csr.der);
    foreign.close();
    expect(await refusalCode(ca.reenroll(new Uint8Array(stranger.certificate.rawData), next.der))).toBe('PROVISION_CERT_UNKNOWN');
    expect(await refusalCode(ca.reenroll(undefined, next.der))).toBe('PROVISION_CERT_UNKNOWN');
  });

  it('refuses bad token requests as usage errors', () => {
    expect(() => ca.createToken({ site: 'HN BadInh', profile: 'hospital', ttlMs: HOUR })).toThrow(/site code/);
    expect(() => ca.createToken({ site: 'hn', profile: 'bank' as 'hospital', ttlMs: HOUR })).toThrow(/profile/);
    expect(() => ca.createToken({ site: 'hn', profile: 'hospital', ttlMs: HOUR, deviceSerial: 'a/b' })).toThrow(/device serial/);
  });

  it(`the CSR input path gives only PROVISION_CSR_* errors on random and truncated bodies (fast-check, ${FUZZ_RUNS} + ${FUZZ_RUNS} cases, seed ${SEED})`, async () => {
    const body = Buffer.from(csr.der).toString('base64');
    const codes = new Set<string>();
    const check = async (text: string): Promise<void> => {
      try {
        await checkCsr(decodeBase64Body(text, 'certificate request'));
      } catch (err) {
        if (!isKioskError(err) || !err.code.startsWith('PROVISION_CSR_')) throw err;
        codes.add(err.code);
      }
    };
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 300 }), check), { numRuns: FUZZ_RUNS, seed: SEED });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: csr.der.length - 1 }), fc.nat({ max: 255 }), fc.boolean(), async (cut, byte, truncate) => {
        const der = Buffer.from(csr.der);
        if (!truncate) der[cut] = byte;
        await check((truncate ? der.subarray(0, cut) : der).toString('base64'));
      }),
      { numRuns: FUZZ_RUNS, seed: SEED },
    );
    expect(codes).toContain('PROVISION_CSR_MALFORMED');
    await expect(checkCsr(decodeBase64Body(body, 'certificate request'))).resolves.toBeDefined();
  });
});
