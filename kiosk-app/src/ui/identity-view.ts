import type { CheckName, CheckOutcome, Decision, FaceDecision, HolderView, VerdictView } from '../shared/identity-api.js';
import { text, type Locale, type StringKey } from './i18n.js';

/** The result of an identity check on screen: verdict banner, holder (photo, name, birth date, last 4 digits), checks. */

const CHECK_LABELS: ReadonlyArray<[CheckName, StringKey]> = [
  ['sodSignature', 'checkSodSignature'],
  ['dsChain', 'checkDsChain'],
  ['crl', 'checkCrl'],
  ['dataGroupHashes', 'checkDataGroupHashes'],
  ['activeAuthentication', 'checkActiveAuthentication'],
  ['chipAuthentication', 'checkChipAuthentication'],
];

const OUTCOME_TEXT: Readonly<Record<CheckOutcome, StringKey>> = { passed: 'outcomePassed', failed: 'outcomeFailed', 'not-possible': 'outcomeNotPossible' };
const DECISION_TEXT: Readonly<Record<Decision, StringKey>> = { accept: 'verdictAccept', 'needs-review': 'verdictReview', reject: 'verdictReject' };
const FACE_TEXT: Readonly<Record<Exclude<FaceDecision, 'not-performed'>, StringKey>> = { accepted: 'faceAccepted', rejected: 'faceRejected', retry: 'faceRetry' };

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

/** The ID number as the screen shows it: only the last 4 digits, the rest masked. */
function maskedId(last4: string): string {
  return `•••• •••• ${last4}`;
}

export function showIdentityResult(verdict: VerdictView, holder: HolderView | null, face: FaceDecision, locale: Locale): void {
  const banner = $('verdict');
  banner.dataset.decision = verdict.decision;
  banner.textContent = text(DECISION_TEXT[verdict.decision], locale);
  const holderBox = banner.nextElementSibling as HTMLElement;
  holderBox.hidden = holder === null;
  const photo = $('holder-photo') as HTMLImageElement;
  if (holder?.photo) photo.src = holder.photo;
  else photo.removeAttribute('src');
  $('holder-name').textContent = holder?.fullName ?? '';
  $('holder-birth').textContent = holder?.dateOfBirth ?? '';
  $('holder-id').textContent = holder ? maskedId(holder.idLast4) : '';
  const items = CHECK_LABELS.map(([name, label]) => {
    const li = document.createElement('li');
    li.dataset.check = name;
    li.dataset.outcome = verdict.checks[name];
    const what = document.createElement('span');
    what.textContent = text(label, locale);
    const outcome = document.createElement('span');
    outcome.className = 'outcome';
    outcome.textContent = text(OUTCOME_TEXT[verdict.checks[name]], locale);
    li.append(what, outcome);
    return li;
  });
  $('checks').replaceChildren(...items);
  const faceLine = $('face-result');
  faceLine.hidden = face === 'not-performed';
  faceLine.dataset.face = face;
  faceLine.textContent = face === 'not-performed' ? '' : text(FACE_TEXT[face], locale);
}

/** Removes every trace of the last card from the DOM: photo, name, birth date, ID digits, verdict. */
export function clearIdentityResult(): void {
  const photo = $('holder-photo') as HTMLImageElement;
  photo.removeAttribute('src');
  for (const id of ['holder-name', 'holder-birth', 'holder-id', 'verdict', 'face-result']) $(id).textContent = '';
  delete $('verdict').dataset.decision;
  delete $('face-result').dataset.face;
  $('checks').replaceChildren();
}
