import { KioskError, isKioskError } from '@kiosk/common';
import type { ApduTransceiver } from '../smartcard/transceiver.js';
import { parseAtr } from '../smartcard/atr.js';
import { performBac, type BacOptions } from './access/bac.js';
import { performPace } from './access/pace.js';
import { bacMrzInformation, pacePassword, type AccessKey } from './access/access-keys.js';
import { DeviationLog, type ChipDeviation } from './deviations.js';
import { selectApplication } from './iso7816/file-commands.js';
import { CardStatusError, isStatus } from './iso7816/status.js';
import { defaultReadPlan, PartialReadError, readElementaryFile, type FileProgress, type ReadPlan } from './lds/file-reader.js';
import { LDS_FILES, type LdsFile } from './lds/files.js';
import { paceProtocol, parseSecurityInfos } from './lds/security-infos.js';
import type { PaceInfo } from './security-infos-types.js';
import { SecureMessagingTransceiver, UnprotectedResponseError, type SecureMessaging } from './sm/secure-messaging.js';

/**
 * Reading a CCCD chip end to end, as raw files: EF.CardAccess in the clear, access control (PACE when the card
 * offers it, BAC only where the policy allows), the eMRTD application under secure messaging, then the data
 * groups. Parsing is a separate step (parse-card.ts) so that a file that fails to parse is still kept.
 */
export type AccessProtocol = 'PACE' | 'BAC';

/** 'EF.CardAccess', 'EF.COM', 'EF.SOD', 'DG1' ... 'DG16'. */
export type LdsFileName = 'EF.CardAccess' | 'EF.COM' | 'EF.SOD' | `DG${number}`;

export interface ReadCardOptions {
  key: AccessKey | AccessKey[];
  /** Allow BAC when the card offers no PACE (policy; default true: CCCD chips of the first generation accept BAC). */
  allowBac?: boolean;
  /** The card's ATR (from the reader), to decide on extended-length reads. */
  atr?: Uint8Array;
  /** Files to read after EF.CardAccess; default EF.COM, EF.SOD, DG1, DG2, DG13, DG14, DG15. */
  files?: LdsFileName[];
  /** Overrides of the read strategy (benchmarks compare against fixed short reads; a site may cap read sizes). */
  plan?: Partial<ReadPlan>;
  /** How many times a transient failure mid-read may restart the session and resume (default 2). */
  maxRestarts?: number;
  onProgress?: (event: ReadProgressEvent) => void;
  /** Fixed BAC terminal nonce and key material, for known-answer (scripted) tests only; random otherwise. */
  bac?: BacOptions;
}

export type ReadProgressEvent =
  | { phase: 'access'; protocol: AccessProtocol; keyKind: AccessKey['kind'] }
  | ({ phase: 'file'; index: number; count: number } & FileProgress)
  | { phase: 'skipped'; file: string; reason: string }
  | { phase: 'restart'; file: string; resumeAt: number; reason: string };

export interface RawCardRead {
  access: { protocol: AccessProtocol; keyKind: AccessKey['kind']; paceProtocol?: string; parameterId?: number | undefined };
  /** Raw file contents by name ('EF.CardAccess', 'EF.COM', 'EF.SOD', 'DG1', ...). */
  files: Map<LdsFileName, Uint8Array>;
  /** Files that were not read, with the reason (EAC-protected, absent, not listed in EF.COM). */
  skipped: Array<{ file: LdsFileName; reason: string }>;
  restarts: number;
  /**
   * Departures from ICAO 9303 the chip showed and the read tolerated (deviations.ts), one entry per kind. The
   * read's channel keeps adding to it, so AA/CA run on it after the read (card-session/) are included.
   */
  deviations: ChipDeviation[];
}

export const DEFAULT_FILES: readonly LdsFileName[] = ['EF.COM', 'EF.SOD', 'DG1', 'DG2', 'DG13', 'DG14', 'DG15'];

/** Transient failures worth a new session and a resumed read (the SM counters are out of step after them). */
function transient(err: unknown): boolean {
  const cause: unknown = err instanceof PartialReadError ? err.cause : err;
  return isKioskError(cause, 'CARD_TRANSMIT_FAILED') || isKioskError(cause, 'CARD_SM_FAILED') || isStatus(cause, 0x6987, 0x6988);
}

function efRef(name: LdsFileName): LdsFile {
  const file = LDS_FILES.find((f) => f.name === name);
  if (!file) throw new KioskError('USAGE', `no LDS file named ${name}`);
  return file;
}

async function readCardAccess(card: ApduTransceiver, plan: ReadPlan): Promise<Uint8Array | undefined> {
  try {
    // Plain reads here: no secure messaging exists yet; keep the 3DES short size, which every chip takes.
    return await readElementaryFile(card, efRef('EF.CardAccess'), { ...plan, extendedLength: false });
  } catch (err) {
    if (isStatus(err, 0x6a82, 0x6982, 0x6986)) return undefined; // no EF.CardAccess: a BAC-only card
    throw err;
  }
}

/** The PACE variant we run (ECDH generic mapping), strongest cipher first; other variants are not offered to the card. */
function choosePace(infos: readonly PaceInfo[]): PaceInfo | undefined {
  const usable = infos.filter((i) => {
    const suite = paceProtocol(i.protocol);
    return suite?.keyAgreement === 'ECDH' && suite.mapping === 'GM';
  });
  const strength = (i: PaceInfo): number => ['3DES', 'AES-128', 'AES-192', 'AES-256'].indexOf(paceProtocol(i.protocol)?.cipher ?? '3DES');
  return usable.sort((a, b) => strength(b) - strength(a))[0];
}

interface Session {
  channel: SecureMessagingTransceiver;
  protocol: AccessProtocol;
  keyKind: AccessKey['kind'];
}

/** Access control with one key: PACE when the card offers it (then SELECT of the application under SM), else BAC. */
async function establish(card: ApduTransceiver, key: AccessKey, paceInfo: PaceInfo | undefined, bac: BacOptions | undefined): Promise<SecureMessaging> {
  if (paceInfo) {
    const sm = await performPace(card, { paceInfo, password: pacePassword(key) });
    await selectApplication(new SecureMessagingTransceiver(card, sm));
    return sm;
  }
  const mrz = bacMrzInformation(key);
  await selectApplication(card);
  return performBac(card, mrz, bac);
}

async function openSession(card: ApduTransceiver, keys: AccessKey[], paceInfo: PaceInfo | undefined, allowBac: boolean, log: DeviationLog, bac?: BacOptions): Promise<Session> {
  let lastRejection: KioskError | undefined;
  for (const key of keys) {
    try {
      if (!paceInfo && !allowBac) throw new KioskError('CARD_UNSUPPORTED', 'the card offers no PACE and the policy does not allow BAC');
      if (!paceInfo && key.kind === 'can') continue; // BAC needs MRZ data; a CAN cannot open a BAC-only card
      const channel = new SecureMessagingTransceiver(card, await establish(card, key, paceInfo, bac), log.record);
      // A chip that answers without SM (a missing file's 6A82, say) leaves its counter unknown: the channel then
      // opens a new session with the key that worked, so the read goes on (see SecureMessaging.inStep).
      channel.reestablish = () => establish(card, key, paceInfo, bac);
      return { channel, protocol: paceInfo ? 'PACE' : 'BAC', keyKind: key.kind };
    } catch (err) {
      if (!isKioskError(err, 'CARD_ACCESS_DENIED')) throw err;
      lastRejection = err;
    }
  }
  if (lastRejection) throw lastRejection;
  throw new KioskError('CARD_UNSUPPORTED', 'the card offers no PACE (no EF.CardAccess), and BAC needs MRZ data: give --mrz (or a QR), not only a CAN');
}

/** Why a file whose content cannot be used is skipped rather than ending the read, or undefined to go on failing. */
function unusableFile(err: unknown, log: DeviationLog): string | undefined {
  const cause = err instanceof PartialReadError ? err.cause : err;
  if (!isKioskError(cause, 'LDS_MALFORMED') && !isKioskError(cause, 'TLV_MALFORMED')) return undefined;
  // file-reader: "the file ended after N of the M bytes its header announces" (0 bytes: an empty file).
  if (/ended after \d+ of/.test(cause.message)) {
    log.record('empty-file', 'a file on the chip holds no bytes, or fewer than its TLV header announces: skipped');
    return `empty or truncated on the card (${cause.message})`;
  }
  return `unreadable: ${cause.message}`;
}

export async function readCardFiles(card: ApduTransceiver, options: ReadCardOptions): Promise<RawCardRead> {
  return (await openAndReadCard(card, options)).raw;
}

/**
 * The read, and the secure-messaging channel it leaves open, on which Active and Chip Authentication run. Only the
 * card session façade (card-session/) takes the channel: not exported from the package, so no caller threads it.
 */
export async function openAndReadCard(card: ApduTransceiver, options: ReadCardOptions): Promise<{ raw: RawCardRead; channel: SecureMessagingTransceiver }> {
  const keys = Array.isArray(options.key) ? options.key : [options.key];
  if (keys.length === 0) throw new KioskError('USAGE', 'no access key given');
  const atr = options.atr ? parseAtr(options.atr) : undefined;
  const files = new Map<LdsFileName, Uint8Array>();
  const skipped: RawCardRead['skipped'] = [];
  const log = new DeviationLog();

  const plainPlan = defaultReadPlan({ extendedLength: false, blockSize: 8 });
  const cardAccess = await readCardAccess(card, plainPlan);
  if (cardAccess) files.set('EF.CardAccess', cardAccess);
  const paceInfo = cardAccess ? choosePace(parseSecurityInfos(cardAccess).filter((i): i is PaceInfo => i.kind === 'pace')) : undefined;
  const allowBac = options.allowBac ?? true;

  let session = await openSession(card, keys, paceInfo, allowBac, log, options.bac);
  options.onProgress?.({ phase: 'access', protocol: session.protocol, keyKind: session.keyKind });
  const plan = { ...defaultReadPlan({ extendedLength: atr?.extendedLength, blockSize: session.channel.session.algorithm === '3DES' ? 8 : 16 }), ...options.plan };

  const wanted = options.files ?? DEFAULT_FILES;
  let restarts = 0;
  for (const [index, name] of wanted.entries()) {
    let partial: Uint8Array | undefined;
    for (;;) {
      try {
        const bytes = await readElementaryFile(session.channel, efRef(name), plan, (p) => options.onProgress?.({ phase: 'file', index, count: wanted.length, ...p }), partial);
        files.set(name, bytes);
        break;
      } catch (err) {
        const cause = err instanceof PartialReadError ? err.cause : err;
        if (cause instanceof UnprotectedResponseError && (cause.sw & 0xff00) === 0x6200 && !plan.neverPastEnd) {
          // Asked past the end of the file and answered without a MAC: from now on ask for the header first and
          // never beyond the end; the channel reopens its session, and the file is read again from where it was.
          plan.neverPastEnd = true;
          log.record('read-past-end-unprotected', 'a READ BINARY past the end of a file was answered (6282) without a MAC: the data was discarded and reads ask for exactly what a file holds');
          if (err instanceof PartialReadError) partial = err.bytes;
          continue;
        }
        if (cause instanceof UnprotectedResponseError && (cause.sw & 0xff00) === 0x6200) {
          // Even reads within the length the header gave ran past the end: the file is shorter than it says.
          log.record('empty-file', 'a file on the chip holds no bytes, or fewer than its TLV header announces: skipped');
          const reason = 'truncated on the card (a read within its announced length ran past its end)';
          skipped.push({ file: name, reason });
          options.onProgress?.({ phase: 'skipped', file: name, reason });
          break;
        }
        const unusable = err instanceof CardStatusError && (err.sw === 0x6982 || err.sw === 0x6a82) ? (err.sw === 0x6982 ? 'access denied (EAC-protected)' : 'not on the card') : unusableFile(err, log);
        if (unusable) {
          skipped.push({ file: name, reason: unusable });
          options.onProgress?.({ phase: 'skipped', file: name, reason: unusable });
          break;
        }
        if (!transient(err) || restarts >= (options.maxRestarts ?? 2)) throw cause;
        restarts++;
        if (err instanceof PartialReadError) partial = err.bytes;
        options.onProgress?.({ phase: 'restart', file: name, resumeAt: partial?.length ?? 0, reason: cause instanceof Error ? cause.message : String(cause) });
        session = await openSession(card, keys, paceInfo, allowBac, log, options.bac);
      }
    }
  }
  const access: RawCardRead['access'] = { protocol: session.protocol, keyKind: session.keyKind };
  if (paceInfo) {
    access.paceProtocol = paceInfo.protocol;
    access.parameterId = paceInfo.parameterId;
  }
  // Active and Chip Authentication run on the channel next: there a chip that drops SM fails, as before.
  session.channel.reestablish = undefined;
  return { raw: { access, files, skipped, restarts, deviations: log.entries }, channel: session.channel };
}
