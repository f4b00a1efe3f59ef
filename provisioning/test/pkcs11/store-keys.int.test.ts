import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { PERSONAS } from '@kiosk/fixtures';
import { TransactionStore, type NewTransaction } from '@kiosk/store';
import { Pkcs11CheckpointSigner, Pkcs11KeyProvider, Pkcs11Token } from '../../src/pkcs11/index.js';
import { tempToken, type TempToken } from './softhsm.js';

let token: TempToken;
let session: Pkcs11Token;
const persona = PERSONAS[0]!;

function submission(): NewTransaction {
  return {
    kind: 'public-service-submission',
    status: 'completed',
    verdict: { chip: 'genuine', faceMatch: 'match', score: 0.7 },
    citizen: { idNumber: persona.idNumber, fields: { fullName: persona.fullName, dateOfBirth: persona.dateOfBirth } },
    deliveries: [{ upstream: 'dvc', payload: { procedure: '1.001234', citizenId: persona.idNumber } }],
  };
}

function open(path: string, wrapLabel = 'kiosk-store-wrap', create = false): TransactionStore {
  return TransactionStore.open({ path, keyProvider: new Pkcs11KeyProvider(session, wrapLabel, { create }), signer: new Pkcs11CheckpointSigner(session, 'kiosk-audit', { create }), checkpointEvery: 2 });
}

beforeAll(() => {
  token = tempToken();
  session = Pkcs11Token.open({ module: token.module, tokenLabel: token.tokenLabel, pin: token.pin });
});
afterAll(() => {
  session.close();
  token.remove();
});

describe('the store with its keys in a SoftHSM2 token', () => {
  it('records, reopens, reads back and verifies its audit chain; the token keys are generated once and never exported', () => {
    const path = join(token.dir, 'store.db');
    const store = open(path, 'kiosk-store-wrap', true);
    const ids = [store.recordTransaction(submission()).id, store.recordTransaction(submission()).id, store.recordTransaction(submission()).id];
    store.checkpoint();
    store.close();

    const reopened = open(path);
    try {
      expect(reopened.findByCitizen(persona.idNumber).map((t) => t.id).sort()).toEqual([...ids].sort());
      expect(reopened.getTransaction(ids[0]!)?.citizen?.fields).toEqual({ fullName: persona.fullName, dateOfBirth: persona.dateOfBirth });
      const report = reopened.verifyAudit();
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checkpoints).toBeGreaterThanOrEqual(1);
    } finally {
      reopened.close();
    }
    expect(session.protection('kiosk-store-wrap', 'secret')).toEqual({ sensitive: true, extractable: false, onToken: true });
    expect(session.protection('kiosk-audit', 'private')).toEqual({ sensitive: true, extractable: false, onToken: true });
    // OpenSC asks for the AES key's value and the token refuses (synthetic test PIN as argument).
    const args = ['--module', token.module, '--token-label', token.tokenLabel, '--login', '--pin', token.pin];
    const read = spawnSync('pkcs11-tool', [...args, '--read-object', '--type', 'secrkey', '--label', 'kiosk-store-wrap'], { encoding: 'utf8' });
    expect(read.status).not.toBe(0);
    expect(read.stderr).toMatch(/CKR_ATTRIBUTE_SENSITIVE/);
    expect(execFileSync('pkcs11-tool', [...args, '--list-objects', '--type', 'secrkey'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
  });

  it('another token key cannot unwrap the data keys (STORE_KEY_UNAVAILABLE), and a missing key is not created unless asked', () => {
    const path = join(token.dir, 'other.db');
    open(path, 'kiosk-store-wrap', true).close();
    session.generateAes256('kiosk-other-wrap');
    let code: string | undefined;
    try {
      const store = open(path, 'kiosk-other-wrap');
      store.findByCitizen(persona.idNumber);
      store.close();
    } catch (err) {
      code = isKioskError(err) ? err.code : String(err);
    }
    expect(code).toBe('STORE_KEY_UNAVAILABLE');
    expect(() => new Pkcs11KeyProvider(session, 'kiosk-no-such-key')).toThrow(expect.objectContaining({ code: 'PKCS11_KEY_NOT_FOUND' }));
    expect(session.find('kiosk-no-such-key', 'secret')).toBeUndefined();
  });
});
