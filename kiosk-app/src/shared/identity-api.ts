/**
 * The identity-check contract between the kiosk service and the renderer: POST /api/card/read and its progress
 * events. Types only (plus two constants), so the browser bundle and the Node service share one definition.
 * Only what the screen shows crosses it: never the full ID number, the address or the raw card files.
 */

/** The 6-digit Card Access Number printed on the front of the CCCD card. */
export const CAN_PATTERN = /^[0-9]{6}$/;

/** Wrong CANs accepted per card insertion before the kiosk asks for the card to be taken out. */
export const MAX_CAN_TRIES = 3;

export type CheckOutcome = 'passed' | 'failed' | 'not-possible';
export type CheckName = 'sodSignature' | 'dsChain' | 'crl' | 'dataGroupHashes' | 'activeAuthentication' | 'chipAuthentication';
/** `needs-review`: nothing failed, but a gap only staff can close remains; never shown as a valid card. */
export type Decision = 'accept' | 'needs-review' | 'reject';

export interface VerdictView {
  decision: Decision;
  policy: string;
  checks: Record<CheckName, CheckOutcome>;
}

export interface HolderView {
  fullName: string;
  /** dd/mm/yyyy as the card writes it. */
  dateOfBirth: string;
  /** The last 4 digits of the ID number; the rest never leaves the service. */
  idLast4: string;
  /** The chip photo as a data: URL, or null when the card has none a browser can show. Kept in memory only. */
  photo: string | null;
}

/**
 * The face step after an accepted card: the chip photo against the live camera. `not-performed`: the card was
 * rejected, or the kiosk has no camera (real devices: no camera driver yet).
 */
export type FaceDecision = 'accepted' | 'rejected' | 'retry' | 'not-performed';

export type IdentityCheckResponse =
  /** The card was read and verified. Holder data only when the policy accepted the card and the face did not mismatch. */
  | { outcome: 'checked'; verdict: VerdictView; holder: HolderView | null; face: FaceDecision }
  | { outcome: 'wrong-can'; triesLeft: number }
  /** MAX_CAN_TRIES wrong CANs on this insertion: the card has to be taken out (and staff asked). */
  | { outcome: 'locked' }
  | { outcome: 'card-removed' }
  /** The check could not be completed (not an eMRTD, broken files, reader or store failure): staff help. */
  | { outcome: 'failed'; code: string };

export type IdentityProgressEvent =
  | { type: 'identity-progress'; phase: 'reading'; percent: number }
  | { type: 'identity-progress'; phase: 'verifying' }
  /** The face step: the citizen is asked to look at the camera. */
  | { type: 'identity-progress'; phase: 'face' };
