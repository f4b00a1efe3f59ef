import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { syncPki } from '@kiosk/fixtures';
import { classifyTlsError, loadClientTls } from '../src/tls/index.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** Fixed seed: the same cases on every run (FUZZ_RUNS widens a local search). */
const SEED = 9303;
const pki = syncPki();

describe('TLS inputs under fuzzing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-tls-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`classifyTlsError gives undefined or a SYNC_ error for any thrown value (${RUNS} cases)`, () => {
    const alertCode = fc.tuple(fc.constantFrom('SSLV3', 'TLSV1', 'TLSV13'), fc.stringMatching(/^[A-Z_]{1,30}$/)).map(([v, a]) => `ERR_SSL_${v}_ALERT_${a}`);
    const errorLike = fc.record({ code: fc.oneof(fc.string(), alertCode, fc.constant('EPROTO'), fc.integer()), message: fc.oneof(fc.string(), fc.nat(200).map((n) => `x: SSL alert number ${n}`)), host: fc.anything() }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(fc.anything(), errorLike), (value) => {
        const result = classifyTlsError(value);
        expect(result === undefined || (isKioskError(result) && result.code.startsWith('SYNC_'))).toBe(true);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it(`loadClientTls refuses any altered client certificate file with a typed error, never a crash (${RUNS} cases)`, () => {
    const cert = Buffer.from(pki.clients.device.certificate);
    writeFileSync(join(dir, 'key.pem'), pki.clients.device.privateKey);
    writeFileSync(join(dir, 'ca.pem'), pki.serverCa.certificate);
    fc.assert(
      fc.property(fc.nat(cert.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, xor, truncate) => {
        const altered = truncate ? cert.subarray(0, at) : Buffer.from(cert.map((b, i) => (i === at ? b ^ xor : b)));
        writeFileSync(join(dir, 'cert.pem'), altered);
        try {
          const loaded = loadClientTls({ clientCert: join(dir, 'cert.pem'), clientKey: join(dir, 'key.pem'), upstreamCa: join(dir, 'ca.pem') });
          // A change OpenSSL tolerates (in the signature, or an attribute's OID: the server refuses such a certificate)
          // loads only with the key still matching, and what is presented is the file as it is now.
          expect(loaded.certificate.fingerprint256).toBe(new X509Certificate(altered).fingerprint256);
        } catch (err) {
          expect(isKioskError(err) && err.code.startsWith('SYNC_')).toBe(true);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
