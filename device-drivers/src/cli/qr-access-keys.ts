import type { AccessKey } from '../emrtd/access/access-keys.js';
import { parseCccdQr } from '../qr/cccd-qr.js';

/** The keys to try for `--qr TEXT`: PACE with the CAN first (needs no dates), then the BAC candidates in order. */
export function accessKeysFromQr(text: string): AccessKey[] {
  const { accessKeys } = parseCccdQr(text);
  return [accessKeys.can, ...accessKeys.bac];
}
