import { isKioskError, type KioskError } from '@kiosk/common';
import type { ApduTransceiver } from '../smartcard/transceiver.js';
import { performActiveAuthentication } from '../emrtd/auth/active-authentication.js';
import { performChipAuthentication } from '../emrtd/auth/chip-authentication.js';
import type { CardRead } from '../emrtd/parse-card.js';
import type { SecureMessagingTransceiver } from '../emrtd/sm/secure-messaging.js';
import type { ActiveAuthenticationInfo, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo } from '../emrtd/security-infos-types.js';
import type { CheckResult } from './signature.js';
import { parseSod } from './sod.js';

/**
 * The chip's half of document verification, run on the secure-messaging session of the read: Active Authentication
 * when DG15 holds a key, then Chip Authentication when DG14 holds one. AA goes first because a failed CA leaves the
 * chip on keys the terminal does not have, which ends the session. A chip that refuses or answers garbage fails the
 * check; only a key or protocol this terminal does not implement makes it 'not-possible'. A card pulled from the
 * reader mid-check throws its transport error (CARD_REMOVED, ...): a removal is not evidence of a clone. Nor is a
 * bug: a RangeError, TypeError or any error that does not say the chip failed propagates (see CHIP_FAILURES).
 */
export interface ChipChecks {
  activeAuthentication: CheckResult;
  chipAuthentication: CheckResult;
}

/** What a verifier of files alone (kiosk-card verify) reports for the checks only a present chip can answer. */
export const OFFLINE_CHIP_CHECKS: ChipChecks = {
  activeAuthentication: { outcome: 'not-possible', reason: 'Active Authentication needs the chip: not possible offline' },
  chipAuthentication: { outcome: 'not-possible', reason: 'Chip Authentication needs the chip: not possible offline' },
};

/**
 * The errors by which a chip fails AA or CA: it refused the command (CARD_STATUS_ERROR), broke secure messaging or
 * answered under keys it does not have (CARD_SM_FAILED), answered bytes that are no response (CARD_MALFORMED_RESPONSE)
 * or no TLV (TLV_MALFORMED), or offers a key file that does not decode (LDS_MALFORMED). Such a chip has not
 * authenticated. Every other error, a transport error (the card went away: no answer about the chip at all) or a
 * bug (RangeError, TypeError, any error that is not one of these), goes to the caller: it is no evidence about the
 * chip and must neither reject a genuine card as a clone nor let a clone pass.
 */
const CHIP_FAILURES = ['CARD_STATUS_ERROR', 'CARD_SM_FAILED', 'CARD_MALFORMED_RESPONSE', 'TLV_MALFORMED', 'LDS_MALFORMED'] as const;
const chipFailed = (err: unknown): err is KioskError => CHIP_FAILURES.some((code) => isKioskError(err, code));
/** "This terminal cannot run the protocol" (a key, curve or cipher it does not implement), as opposed to a chip that failed it. */
const unsupported = (err: unknown): err is KioskError => isKioskError(err, 'CARD_UNSUPPORTED');

async function outcomeOf(what: string, run: () => Promise<{ outcome: 'passed' | 'failed'; reason?: string | undefined; algorithm?: string }>): Promise<CheckResult> {
  try {
    const result = await run();
    const algorithm = result.algorithm ? ` (${result.algorithm})` : '';
    return { outcome: result.outcome, reason: `${what} ${result.outcome}${algorithm}${result.reason ? `: ${result.reason}` : ''}` };
  } catch (err) {
    if (unsupported(err)) return { outcome: 'not-possible', reason: `${what}: ${err.message}` };
    if (chipFailed(err)) return { outcome: 'failed', reason: `${what} failed: ${err.message}` };
    throw err;
  }
}

/** The data groups EF.SOD hashes; empty when it does not parse (Passive Authentication reports that). */
function listedBySod(efSod: Uint8Array | undefined): ReadonlySet<number> {
  if (!efSod) return new Set();
  try {
    return new Set(parseSod(efSod).lds.dataGroupHashes.keys());
  } catch (err) {
    if (isKioskError(err, 'LDS_MALFORMED')) return new Set();
    throw err;
  }
}

/**
 * Why the chip's key file is missing. A DG14 or DG15 that EF.SOD hashes was issued on the card: a chip that then
 * refuses or hides it withholds its proof, which is what a clone without the chip keys does, so the check fails.
 */
function missingKeyFile(read: Pick<CardRead, 'files' | 'skipped'>, file: 'DG14' | 'DG15', listed: ReadonlySet<number>, absent: string): CheckResult {
  const skipped = read.skipped.find((s) => s.file === file);
  if (skipped && listed.has(Number(file.slice(2)))) return { outcome: 'failed', reason: `EF.SOD lists ${file}, but the chip withheld it (${skipped.reason})` };
  if (read.files.has(file)) return { outcome: 'not-possible', reason: `${file} holds no usable key` };
  return { outcome: 'not-possible', reason: skipped ? absent : `${file} was not read` };
}

/** The chip checks, and the secure-messaging channel they leave for whatever runs on the card next. */
export interface ChipChecksOnSession extends ChipChecks {
  /**
   * After Chip Authentication ran: its new channel when it passed, none otherwise (the chip may have left the old
   * session). When CA did not run (no DG14 key): the channel the checks were given.
   */
  channel: SecureMessagingTransceiver | undefined;
}

/** What a card session whose secure messaging is gone reports: neither check could run, so neither passed. */
export const NO_SESSION_CHIP_CHECKS: ChipChecks = {
  activeAuthentication: { outcome: 'not-possible', reason: 'no secure-messaging session left to run Active Authentication on' },
  chipAuthentication: { outcome: 'not-possible', reason: 'no secure-messaging session left to run Chip Authentication on' },
};

/**
 * The chip checks on the read's session. Internal to the card session façade (card-session/), which owns the
 * channel; `card` is the raw link beneath it.
 */
export async function authenticateChip(card: ApduTransceiver, channel: SecureMessagingTransceiver, read: Pick<CardRead, 'dg14' | 'activeAuthenticationKey' | 'files' | 'skipped'>): Promise<ChipChecksOnSession> {
  const listed = listedBySod(read.files.get('EF.SOD'));
  const aaKey = read.activeAuthenticationKey;
  const aaInfo = read.dg14.find((i): i is ActiveAuthenticationInfo => i.kind === 'active-authentication');
  const activeAuthentication: CheckResult = aaKey
    ? await outcomeOf('Active Authentication', () => performActiveAuthentication(channel, aaKey.spki, aaInfo?.signatureAlgorithm ? { signatureAlgorithm: aaInfo.signatureAlgorithm } : {}))
    : missingKeyFile(read, 'DG15', listed, 'the card has no DG15 (no Active Authentication)');

  const caKey = read.dg14.find((i): i is ChipAuthenticationPublicKeyInfo => i.kind === 'chip-authentication-public-key');
  const caInfos = read.dg14.filter((i): i is ChipAuthenticationInfo => i.kind === 'chip-authentication');
  // A chip with several keys names each key's protocol by keyId: take the info for the key used, not merely the first.
  const caInfo = caInfos.find((i) => i.keyId !== undefined && i.keyId === caKey?.keyId) ?? caInfos[0];
  let after: SecureMessagingTransceiver | undefined = channel;
  const chipAuthentication: CheckResult = caKey
    ? await outcomeOf('Chip Authentication', async () => {
        after = undefined;
        const result = await performChipAuthentication(card, channel, caInfo, caKey);
        after = result.channel;
        return result;
      })
    : missingKeyFile(read, 'DG14', listed, 'the card has no DG14 (no Chip Authentication)');
  return { activeAuthentication, chipAuthentication, channel: after };
}
