import { CITY_UPSTREAM, type DeliveriesResponse, type DossierSubmitted } from '../shared/dossier-api.js';
import type { IdentityCheckResponse } from '../shared/identity-api.js';
import { followEvents, getJson, postJson, type KioskEvent } from './api.js';
import { text, type Locale, type StringKey } from './i18n.js';
import { clearIdentityResult, showIdentityResult } from './identity-view.js';

/** The kiosk renderer: no Node access, talks only to the local API with the per-boot token. */

interface Session {
  device: { id: string; profile: string };
  devices: { mode: 'simulated' | 'real' };
  ui: { locale: Locale; idleResetSeconds: number };
}

const CAN_LENGTH = 6;
/** How often the receipt screen asks where the dossier stands, and after how long pending it says "saved". */
const RECEIPT_POLL_MS = 1000;
const QUEUED_AFTER_MS = 6000;

type ReceiptState = 'sending' | 'queued' | 'delivered' | 'refused';
const RECEIPT_TEXT: Readonly<Record<ReceiptState, StringKey | null>> = { sending: 'dossierSending', queued: 'dossierQueued', delivered: null, refused: 'dossierRefused' };

/** What the screen shows. The last card's data lives only in a 'result' view, and goes with it. */
type View =
  | { kind: 'start' }
  | { kind: 'can'; digits: string; triesLeft?: number }
  | { kind: 'progress'; percent: number | 'verifying' | 'face' }
  | { kind: 'result'; result: Extract<IdentityCheckResponse, { outcome: 'checked' }> }
  /** After a dossier was submitted: no personal data, only where it stands and the city's tracking code. */
  | { kind: 'receipt'; transactionId: string; state: ReceiptState; trackingCode?: string }
  | { kind: 'message'; prompt: StringKey; hint: StringKey; code?: string };

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

let locale: Locale = 'vi';
let defaultLocale: Locale = 'vi';
let idleMs = 60_000;
let idleTimer: number | undefined;
let view: View = { kind: 'start' };
let cardPresent = false;
let status: StringKey = 'connecting';
let profile = '';

function lead(v: View): { prompt: string; hint: string } {
  const t = (key: StringKey, values?: Record<string, string | number>): string => text(key, locale, values);
  switch (v.kind) {
    case 'start':
      return { prompt: t('insertCard'), hint: t('insertCardHint') };
    case 'can':
      return { prompt: t('canPrompt'), hint: t('canHint') };
    case 'progress':
      if (v.percent === 'face') return { prompt: t('lookAtCamera'), hint: t('cardDetectedHint') };
      return { prompt: v.percent === 'verifying' ? t('verifying') : t('reading', { n: v.percent }), hint: t('cardDetectedHint') };
    case 'result':
      return { prompt: '', hint: t('removeCardHint') };
    case 'receipt':
      return { prompt: t('dossierSubmitted'), hint: t(v.state === 'delivered' ? 'dossierTrackingHint' : v.state === 'queued' ? 'dossierQueuedHint' : 'removeCardHint') };
    case 'message':
      return { prompt: t(v.prompt), hint: t(v.hint, { code: v.code ?? '' }) };
  }
}

function render(): void {
  document.documentElement.lang = locale;
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    el.textContent = text(el.dataset.i18n as StringKey, locale);
  }
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-label]')) {
    el.setAttribute('aria-label', text(el.dataset.i18nLabel as StringKey, locale));
  }
  $('lang').setAttribute('lang', locale === 'vi' ? 'en' : 'vi');
  const { prompt, hint } = lead(view);
  $('prompt').textContent = prompt;
  $('hint').textContent = hint;
  $('screen').dataset.state = view.kind;
  $('can-entry').hidden = $('keypad').hidden = view.kind !== 'can';
  $('progress').hidden = view.kind !== 'progress';
  $('result').hidden = view.kind !== 'result';
  // Outside CAN entry the digits are blanked too: the CAN must not linger in a hidden element.
  renderCan(view.kind === 'can' ? view : { kind: 'can', digits: '' });
  if (view.kind === 'progress') ($('progress') as HTMLProgressElement).value = typeof view.percent === 'number' ? view.percent : 100;
  if (view.kind === 'result') showIdentityResult(view.result.verdict, view.result.holder, view.result.face, locale);
  else clearIdentityResult();
  // The one procedure offered until the catalogue exists, to an accepted citizen of a public-service kiosk only.
  $('submit-dossier').hidden = !(view.kind === 'result' && view.result.holder && profile === 'public-service');
  renderReceipt(view.kind === 'receipt' ? view : undefined);
  $('device-status').textContent = text(status, locale);
  $('device-status').parentElement!.dataset.state = status === 'readerReady' ? 'ready' : 'unavailable';
}

function renderCan(v: Extract<View, { kind: 'can' }>): void {
  $('can-digits')
    .querySelectorAll('span')
    .forEach((box, i) => {
      box.textContent = v.digits[i] ?? '';
    });
  $('can-message').textContent = v.triesLeft === undefined ? '' : text('wrongCan', locale, { n: v.triesLeft });
  ($('keypad').querySelector('[data-key="confirm"]') as HTMLButtonElement).disabled = v.digits.length !== CAN_LENGTH;
}

function renderReceipt(v: Extract<View, { kind: 'receipt' }> | undefined): void {
  $('receipt').hidden = !v;
  const key = v ? RECEIPT_TEXT[v.state] : null;
  $('receipt-state').textContent = key ? text(key, locale) : '';
  if (v) $('receipt').dataset.state = v.state;
  $('tracking').hidden = v?.state !== 'delivered';
  $('tracking-code').textContent = v?.trackingCode ?? '';
}

function show(next: View): void {
  view = next;
  render();
}

/** A fresh CAN entry while a card is on the reader, else the start screen: nothing of the last citizen stays. */
function restart(): void {
  show(cardPresent ? { kind: 'can', digits: '' } : { kind: 'start' });
}

function resetToStart(): void {
  locale = defaultLocale;
  restart();
  // The service forgets the visit too (the applicant's data, which receipts this screen may follow).
  postJson('/api/visit/end', {}).catch(() => undefined);
}

let submitting = false;

async function submitDossier(): Promise<void> {
  // One dossier per press: a second tap while the first is on its way is not a second dossier.
  if (view.kind !== 'result' || submitting) return;
  submitting = true;
  let submitted: DossierSubmitted;
  try {
    submitted = await postJson<DossierSubmitted>('/api/dossiers', {});
  } catch (err) {
    return show({ kind: 'message', prompt: 'dossierNotSubmitted', hint: 'failedHint', code: err instanceof Error ? err.message : 'UNKNOWN' });
  } finally {
    submitting = false;
  }
  show({ kind: 'receipt', transactionId: submitted.transactionId, state: 'sending' });
  await followReceipt(submitted.transactionId);
}

const onReceipt = (transactionId: string): boolean => view.kind === 'receipt' && view.transactionId === transactionId;

/** Polls the city delivery until its tracking code comes back; queued offline is a normal state, said calmly. */
async function followReceipt(transactionId: string): Promise<void> {
  const started = Date.now();
  while (onReceipt(transactionId)) {
    const answer = await getJson<DeliveriesResponse>(`/api/transactions/${encodeURIComponent(transactionId)}/deliveries`).catch(() => undefined);
    // The visit ended (idle reset, a new card) while the answer was on its way: the screen has moved on.
    if (!onReceipt(transactionId)) return;
    const city = answer?.deliveries.find((d) => d.upstream === CITY_UPSTREAM);
    if (city?.state === 'delivered' && city.receipt) return show({ kind: 'receipt', transactionId, state: 'delivered', trackingCode: city.receipt });
    if (city?.state === 'dead-letter') return show({ kind: 'receipt', transactionId, state: 'refused' });
    if (Date.now() - started >= QUEUED_AFTER_MS && view.kind === 'receipt' && view.state === 'sending') show({ ...view, state: 'queued' });
    await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
  }
}

function touched(): void {
  window.clearTimeout(idleTimer);
  idleTimer = window.setTimeout(resetToStart, idleMs);
}

function onKey(key: string): void {
  if (view.kind !== 'can') return;
  if (/^[0-9]$/.test(key) && view.digits.length < CAN_LENGTH) show({ ...view, digits: view.digits + key });
  if (key === 'delete') show({ ...view, digits: view.digits.slice(0, -1) });
  if (key === 'confirm' && view.digits.length === CAN_LENGTH) void submitCan(view.digits);
}

async function submitCan(can: string): Promise<void> {
  show({ kind: 'progress', percent: 0 });
  let response: IdentityCheckResponse;
  try {
    response = await postJson<IdentityCheckResponse>('/api/card/read', { can });
  } catch (err) {
    response = { outcome: 'failed', code: err instanceof Error ? err.message : 'UNKNOWN' };
  }
  // The card left while the answer was on its way: show nothing of it.
  if (!cardPresent && response.outcome !== 'failed') response = { outcome: 'card-removed' };
  switch (response.outcome) {
    case 'checked':
      return show({ kind: 'result', result: response });
    case 'wrong-can':
      return show({ kind: 'can', digits: '', triesLeft: response.triesLeft });
    case 'locked':
      return show({ kind: 'message', prompt: 'lockedPrompt', hint: 'lockedHint' });
    case 'card-removed':
      return show({ kind: 'message', prompt: 'removedPrompt', hint: 'removedHint' });
    case 'failed':
      return show({ kind: 'message', prompt: 'failedPrompt', hint: 'failedHint', code: response.code });
  }
}

function onEvent(event: KioskEvent): void {
  if (event.type === 'card-inserted') {
    cardPresent = true;
    if (view.kind !== 'progress') view = { kind: 'can', digits: '' };
  }
  if (event.type === 'card-removed') {
    cardPresent = false;
    // Mid-read, the answer to the read says what happened; otherwise the card's data leaves with the card. The
    // receipt holds none, so it stays for the citizen to note the tracking code.
    if (view.kind !== 'progress' && view.kind !== 'receipt') view = { kind: 'start' };
  }
  if (event.type === 'identity-progress' && view.kind === 'progress') {
    view = { kind: 'progress', percent: event.phase === 'reading' ? event.percent : event.phase };
  }
  if (event.type === 'devices') {
    const reader = event.devices.find((d) => d.kind === 'card-reader');
    status = reader?.state === 'ready' ? 'readerReady' : 'readerUnavailable';
    // A card already on the reader when the screen (re)connects.
    if (reader?.readers.some((r) => r.cardPresent) && !cardPresent) {
      cardPresent = true;
      if (view.kind === 'start') view = { kind: 'can', digits: '' };
    }
  }
  render();
  touched();
}

async function start(): Promise<void> {
  $('lang').addEventListener('click', () => {
    locale = locale === 'vi' ? 'en' : 'vi';
    render();
  });
  $('submit-dossier').addEventListener('click', () => void submitDossier());
  $('keypad').addEventListener('click', (e) => {
    const key = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-key]')?.dataset.key;
    if (key) onKey(key);
  });
  // A hardware keypad or keyboard, where the kiosk has one.
  document.addEventListener('keydown', (e) => {
    const key = e.key === 'Backspace' ? 'delete' : e.key === 'Enter' ? 'confirm' : e.key;
    onKey(key);
  });
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, touched, { passive: true });
  // Deny-by-default inside the page too: no context menu, no drag-out of images or text.
  document.addEventListener('contextmenu', (e) => e.preventDefault());
  document.addEventListener('dragstart', (e) => e.preventDefault());

  const session = await getJson<Session>('/api/session');
  if (session) {
    defaultLocale = locale = session.ui.locale;
    idleMs = session.ui.idleResetSeconds * 1000;
    profile = session.device.profile;
    // Shown until the service says the devices are real: a page that cannot ask keeps it.
    $('test-banner').hidden = session.devices.mode === 'real';
  }
  render();
  touched();
  for (;;) {
    try {
      await followEvents(onEvent);
    } catch {
      // the service restarted or the stream broke: say so and reconnect
    }
    status = 'serviceUnavailable';
    render();
    await new Promise((r) => setTimeout(r, 2000));
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => void start());
else void start();
