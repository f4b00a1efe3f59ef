import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PKCS11_MODULE } from '../../src/pkcs11/token.js';

export interface TempToken {
  dir: string;
  module: string;
  tokenLabel: string;
  pin: string;
  pinFile: string;
  remove(): void;
}

/**
 * A fresh SoftHSM2 token in a temp folder: SOFTHSM2_CONF points this process (and the children it starts) at it, so
 * the system token folder is never touched. SoftHSM reads SOFTHSM2_CONF at C_Initialize, so call this first.
 */
export function tempToken(tokenLabel = 'kiosk-test'): TempToken {
  const dir = mkdtempSync(join(tmpdir(), 'kiosk-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  // Synthetic test PINs; softhsm2-util takes them only as arguments (the product reads PINs from a 0600 file).
  const pin = '246810';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--so-pin', '13579246', '--pin', pin], { stdio: 'ignore' });
  const pinFile = join(dir, 'user.pin');
  writeFileSync(pinFile, pin, { mode: 0o600 });
  return { dir, module: DEFAULT_PKCS11_MODULE, tokenLabel, pin, pinFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
