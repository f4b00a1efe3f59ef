import { chmodSync, statSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { FileCheckpointSigner, FileKeyProvider, type TransactionStore } from '@kiosk/store';
import { PERSONA_A, codeOf, openTempStore, submission, tempStoreDir } from './helpers/temp-store.js';

let dir: ReturnType<typeof tempStoreDir>;
beforeEach(() => {
  dir = tempStoreDir();
});
afterEach(() => dir.cleanup());

describe('key files', () => {
  it('are created 0600 on first start and refused when group or other may access them', () => {
    openTempStore(dir).close();
    expect(statSync(dir.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(dir.signingKeyFile).mode & 0o777).toBe(0o600);
    for (const mode of [0o640, 0o604, 0o660]) {
      chmodSync(dir.keyFile, mode);
      expect(codeOf(() => new FileKeyProvider(dir.keyFile)), mode.toString(8)).toBe('STORE_KEY_UNAVAILABLE');
    }
    chmodSync(dir.keyFile, 0o600);
    chmodSync(dir.signingKeyFile, 0o644);
    expect(codeOf(() => new FileCheckpointSigner(dir.signingKeyFile))).toBe('STORE_KEY_UNAVAILABLE');
  });

  it('a missing key file is not created when creation is off, and a malformed one is refused', () => {
    expect(codeOf(() => new FileKeyProvider(dir.keyFile))).toBe('STORE_KEY_UNAVAILABLE');
    writeFileSync(`${dir.dir}/short.key`, Buffer.alloc(16), { mode: 0o600 });
    expect(codeOf(() => new FileKeyProvider(`${dir.dir}/short.key`))).toBe('STORE_KEY_UNAVAILABLE');
    writeFileSync(`${dir.dir}/bad.pem`, 'not a key', { mode: 0o600 });
    expect(codeOf(() => new FileCheckpointSigner(`${dir.dir}/bad.pem`))).toBe('STORE_KEY_UNAVAILABLE');
  });
});

describe('field guard (fast-check)', () => {
  let store: TransactionStore;
  beforeEach(() => {
    store = openTempStore(dir);
  });
  afterEach(() => store.close());

  it('300 random JSON payloads: each is either stored and read back equal, or refused with STORE_FIELD_REJECTED', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 })), (payload) => {
        const input = { ...submission(PERSONA_A, ['dvc']), deliveries: [{ upstream: 'dvc', aggregate: 'fuzz', payload: payload as never }] };
        let rec;
        try {
          rec = store.recordTransaction(input);
        } catch (err) {
          expect(isKioskError(err, 'STORE_FIELD_REJECTED')).toBe(true);
          return;
        }
        const [due] = store.claimDue({ upstream: 'dvc' });
        expect(due?.transactionId).toBe(rec.id);
        expect(due?.payload).toEqual(JSON.parse(JSON.stringify(payload)));
        store.markDelivered(due!.id);
      }),
      { numRuns: 300 },
    );
  });

  it('200 random base64 images (12-600 bytes) with a JPEG/PNG header are always refused', () => {
    fc.assert(
      fc.property(fc.constantFrom([0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), fc.uint8Array({ minLength: 12, maxLength: 600 }), (magic, body) => {
        const b64 = Buffer.concat([Buffer.from(magic), body]).toString('base64');
        expect(codeOf(() => store.recordTransaction({ ...submission(PERSONA_A, ['dvc']), deliveries: [{ upstream: 'dvc', payload: { attachment: b64 } }] }))).toBe('STORE_FIELD_REJECTED');
      }),
      { numRuns: 200 },
    );
  });
});
