import { EventEmitter } from 'node:events';
import { KioskError, isKioskError, scrubText, type Logger } from '@kiosk/common';
import type { ApduTransceiver } from '@kiosk/device-drivers';
import { readAndVerifyCard, type CardCheck, type CardSessionProgress } from '@kiosk/device-drivers/card-session';
import { canKey, type CardRead, type ReadProgressEvent } from '@kiosk/device-drivers/emrtd';
import { decodePortrait, type DisplayImage } from '@kiosk/device-drivers/image';
import type { Verdict } from '@kiosk/device-drivers/verify';
import { MAX_CAN_TRIES, type CheckName, type HolderView, type IdentityCheckResponse, type IdentityProgressEvent, type VerdictView } from '../shared/identity-api.js';
import type { KioskEvent } from './card-monitor.js';
import type { ChipPhoto, FaceOutcome } from './face-step.js';
import { POPULATION_UPSTREAM, isoDateOf, populationPayload } from './outbox-payloads.js';
import type { KioskTrust } from './trust-setup.js';
import { Visit, type Applicant, type TransactionRecorder } from './visit.js';

/** What the check needs of the card reader: a session with the card on it, and insert/remove events. */
export interface CardSessions {
  openCardSession(): Promise<ApduTransceiver & { atr: Uint8Array }>;
  on(event: 'event', listener: (event: KioskEvent) => void): unknown;
}

export interface IdentityCheckOptions {
  cards: CardSessions;
  /** Simulated devices: every transaction says so (the test PKI may have verified it). */
  devicesMode: 'simulated' | 'real';
  trust: KioskTrust;
  /** Where verdicts are recorded; without one nothing is (unit tests of the route only). */
  recorder: TransactionRecorder | undefined;
  log: Logger;
  /** The face match after an accepted card (face-step.ts); without one it is not performed (route unit tests). */
  face?: { run(chipPhoto: ChipPhoto): Promise<FaceOutcome> };
  /** The citizen's visit the check belongs to (shared with the dossier routes); a private one by default. */
  visit?: Visit;
}

const CHECK_NAMES: readonly CheckName[] = ['sodSignature', 'dsChain', 'crl', 'dataGroupHashes', 'activeAuthentication', 'chipAuthentication'];

/** Colons between the bytes: a fingerprint stored in clear must never look like an ID number to the store's guard. */
const colonHex = (hex: string): string => hex.match(/../g)?.join(':') ?? hex;

/** The check names behind the reasons ("dsChain", "crl", "cloneDetection"...), for the clear-text record. */
const reasonCodes = (verdict: Verdict): string => [...new Set(verdict.reasons.map((r) => r.slice(0, r.indexOf(':'))))].join(',');

/** What the store keeps of a verdict: outcomes, reasons by check, the DS for forensics; no personal data. */
function verdictRecord(verdict: Verdict, view: VerdictView, options: Pick<IdentityCheckOptions, 'trust' | 'devicesMode'>): Record<string, string | null> {
  return {
    decision: view.decision,
    policy: view.policy,
    trust: options.trust.source,
    devices: options.devicesMode,
    reasons: reasonCodes(verdict) || null,
    dsFingerprint: verdict.documentSigner ? colonHex(verdict.documentSigner.fingerprint) : null,
    dsIssuer: verdict.documentSigner ? scrubText(verdict.documentSigner.issuer).slice(0, 200) : null,
    ...view.checks,
  };
}

function verdictView(verdict: Verdict): VerdictView {
  const checks = Object.fromEntries(CHECK_NAMES.map((name) => [name, verdict.checks[name].outcome])) as VerdictView['checks'];
  return { decision: verdict.decision, policy: verdict.policy, checks };
}

/** Reading progress over all files, in whole percent. */
function readPercent(e: Extract<ReadProgressEvent, { phase: 'file' }>): number {
  const fileShare = e.totalBytes ? Math.min(1, e.bytesRead / e.totalBytes) : 1;
  return Math.floor(((e.index + fileShare) / e.count) * 100);
}

/** The chip's DG2 photo decoded once, for the face match and the screen; a photo that does not decode says why. */
async function chipPhotoOf(read: CardRead): Promise<ChipPhoto> {
  const face = read.faces[0];
  if (!face) return { missing: 'FACE_NOT_FOUND' };
  try {
    return await decodePortrait(face.image, 'chip photo', 'FACE_IMAGE_UNREADABLE');
  } catch (err) {
    if (isKioskError(err)) return { missing: err.code };
    throw err;
  }
}

/**
 * What the upstreams need of an accepted holder; undefined when the card lacks a part of it (an ID number, a name, a
 * birth date the contracts can take), so nothing incomplete goes upstream.
 */
function applicantOf(holder: CardCheck['holder'], face: FaceOutcome['decision']): Applicant | undefined {
  const dateOfBirth = isoDateOf(holder.dateOfBirth);
  if (!holder.idNumber || !holder.fullName || !dateOfBirth || (face !== 'accepted' && face !== 'not-performed')) return undefined;
  return { idNumber: holder.idNumber, fullName: holder.fullName, dateOfBirth, face };
}

const dataUrl = (image: DisplayImage): string => `data:${image.mime};base64,${Buffer.from(image.bytes).toString('base64')}`;

/**
 * The identity check of an inserted CCCD card: read it with the CAN the citizen typed (PACE), run Active and Chip
 * Authentication on the same session, verify Passive Authentication against the trust store under the device's
 * policy, record the verdict, and answer with only what the screen shows. Wrong CANs are counted per insertion.
 * Progress goes out as events; nothing personal is logged or kept after the answer.
 */
export class IdentityCheck extends EventEmitter<{ event: [IdentityProgressEvent] }> {
  private triesLeft = MAX_CAN_TRIES;
  private running = false;
  private readonly visit: Visit;

  constructor(private readonly options: IdentityCheckOptions) {
    super();
    this.visit = options.visit ?? new Visit({ cards: options.cards, log: options.log });
    options.cards.on('event', (event) => {
      if (event.type === 'card-inserted' || event.type === 'card-removed') this.triesLeft = MAX_CAN_TRIES;
    });
  }

  /** API_BUSY while another check runs; the card outcomes (wrong CAN, removed, rejected) are answers, not errors. */
  async check(can: string): Promise<IdentityCheckResponse> {
    if (this.running) throw new KioskError('API_BUSY', 'a card read is already running');
    if (this.triesLeft <= 0) return { outcome: 'locked' };
    this.running = true;
    const started = performance.now();
    try {
      const response = await this.readAndVerify(can);
      this.options.log.info({ outcome: response.outcome, decision: response.outcome === 'checked' ? response.verdict.decision : undefined, ms: Math.round(performance.now() - started) }, 'identity check');
      return response;
    } catch (err) {
      return this.failure(err);
    } finally {
      this.running = false;
    }
  }

  private failure(err: unknown): IdentityCheckResponse {
    if (!isKioskError(err)) throw err;
    const { log } = this.options;
    if (err.code === 'CARD_ACCESS_DENIED') {
      this.triesLeft -= 1;
      log.info({ triesLeft: this.triesLeft }, 'identity check: the card refused the CAN');
      return this.triesLeft > 0 ? { outcome: 'wrong-can', triesLeft: this.triesLeft } : { outcome: 'locked' };
    }
    if (err.code === 'CARD_REMOVED') {
      log.info('identity check: the card left the reader');
      return { outcome: 'card-removed' };
    }
    log.warn({ err }, 'identity check failed');
    return { outcome: 'failed', code: err.code };
  }

  private async readAndVerify(can: string): Promise<IdentityCheckResponse> {
    const { cards, trust, recorder, log, face } = this.options;
    const cardTicket = this.visit.cardTicket;
    const session = await cards.openCardSession();
    let checked: CardCheck;
    try {
      let lastPercent = -1;
      const onProgress = (e: CardSessionProgress): void => {
        if (e.phase === 'verifying') this.emit('event', { type: 'identity-progress', phase: 'verifying' });
        if (e.phase !== 'file') return;
        const percent = readPercent(e);
        if (percent === lastPercent) return;
        lastPercent = percent;
        this.emit('event', { type: 'identity-progress', phase: 'reading', percent });
      };
      // The session rules are the façade's: a removal during AA/CA is CARD_REMOVED (not a clone), and a card
      // whose holder does not parse is not verified.
      checked = await readAndVerifyCard(session, { keys: canKey(can), atr: session.atr, onProgress, trust: trust.trust, policy: trust.policy });
    } finally {
      await session.close();
    }
    const { read, holder, verdict } = checked;
    const cardAccepted = verdict.decision === 'accept';
    const view = verdictView(verdict);
    let faceOutcome: FaceOutcome = { decision: 'not-performed', summary: { faceMatch: 'not-performed' } };
    // Only an accepted card's photo is used (matched and shown), so only then is it decoded.
    const photo = cardAccepted ? await chipPhotoOf(read) : undefined;
    if (photo && 'missing' in photo) log.warn({ code: photo.missing }, 'chip photo unusable: not matched, not shown');
    if (photo && face) {
      this.emit('event', { type: 'identity-progress', phase: 'face' });
      faceOutcome = await face.run(photo);
    }
    // A face that does not match (or could not be seen) means the card is not shown to be the citizen's.
    const accepted = cardAccepted && (faceOutcome.decision === 'accepted' || faceOutcome.decision === 'not-performed');
    // A card the policy sends to review is not the citizen's as far as the kiosk can tell: staff decide at the counter.
    const status = accepted ? 'completed' : verdict.decision === 'needs-review' ? 'needs-review' : 'rejected';
    // Only an accepted citizen is reported upstream, and only then may a dossier be submitted for them.
    const applicant = accepted ? applicantOf(holder, faceOutcome.decision) : undefined;
    if (recorder) {
      this.visit.record(recorder, (transactionId) => ({
        kind: 'identity-verification',
        status,
        verdict: { ...verdictRecord(verdict, view, this.options), ...faceOutcome.summary },
        // A rejected or unverified card's data is not the citizen's as far as anyone can tell: only its verdict is kept.
        ...(accepted && holder.idNumber ? { citizen: { idNumber: holder.idNumber, fields: { fullName: holder.fullName ?? null, dateOfBirth: holder.dateOfBirth ?? null } } } : {}),
        deliveries: applicant ? [{ upstream: POPULATION_UPSTREAM, aggregate: this.visit.stream, payload: populationPayload(transactionId, applicant, view) }] : [],
      }));
    }
    if (applicant) this.visit.admit(applicant, cardTicket);
    if (!accepted) return { outcome: 'checked', verdict: view, holder: null, face: faceOutcome.decision };
    const shown: HolderView = {
      fullName: holder.fullName ?? '',
      dateOfBirth: holder.dateOfBirth ?? '',
      idLast4: holder.idNumber?.slice(-4) ?? '',
      photo: photo && 'display' in photo ? dataUrl(photo.display) : null,
    };
    return { outcome: 'checked', verdict: view, holder: shown, face: faceOutcome.decision };
  }
}
