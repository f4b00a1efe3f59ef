import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKioskError } from '@kiosk/common';
import { TransactionStore, type NewTransaction, type OpenStoreOptions } from '@kiosk/store';

/** A directory with a fresh store's database and 0600 key files; `cleanup()` removes it. */
export function tempStoreDir(): { dir: string; path: string; keyFile: string; signingKeyFile: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kiosk-store-'));
  return { dir, path: join(dir, 'store.db'), keyFile: join(dir, 'keys', 'wrap.key'), signingKeyFile: join(dir, 'keys', 'signing.pem'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openTempStore(dir: ReturnType<typeof tempStoreDir>, options: Partial<OpenStoreOptions> = {}): TransactionStore {
  return TransactionStore.open({ path: dir.path, keyFile: dir.keyFile, signingKeyFile: dir.signingKeyFile, ...options });
}

/** Synthetic personas written for these tests (not real people). */
export const PERSONA_A = { idNumber: '001090012345', fullName: 'Nguyễn Văn An', dateOfBirth: '1990-03-14', address: 'Số 12 Phố Huế, Hai Bà Trưng, Hà Nội' };
export const PERSONA_B = { idNumber: '079185004321', fullName: 'Trần Thị Bích Ngọc', dateOfBirth: '1985-11-02', address: 'Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh' };

export function submission(persona: typeof PERSONA_A, upstreams: string[] = ['dvc', 'population']): NewTransaction {
  const { idNumber, ...fields } = persona;
  return {
    kind: 'public-service-submission',
    status: 'completed',
    verdict: { chip: 'genuine', faceMatch: 'match', score: 0.71 },
    citizen: { idNumber, fields },
    deliveries: upstreams.map((upstream) => ({ upstream, payload: { procedure: '1.001234', citizenId: idNumber, fullName: persona.fullName } })),
  };
}

/** The KioskError code `fn` throws (an untyped error is named as such), or undefined when it does not throw. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKioskError(err) ? err.code : `untyped: ${String(err)}`;
  }
  return undefined;
}
