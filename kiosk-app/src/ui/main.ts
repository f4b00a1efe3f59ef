import { text, type Locale, type StringKey } from './i18n.js';

/** The kiosk renderer: no Node access, talks only to the local API with the per-boot token. */

interface Session {
  device: { id: string; profile: string };
  ui: { locale: Locale; idleResetSeconds: number };
}

interface DeviceStatus {
  kind: string;
  state: 'ready' | 'unavailable';
  readers: Array<{ name: string; cardPresent: boolean }>;
}

type KioskEvent =
  | { type: 'card-inserted'; reader: string }
  | { type: 'card-removed'; reader: string }
  | { type: 'devices'; devices: DeviceStatus[] };

const TOKEN_KEY = 'kiosk-token';

function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname); // keep the token out of the address bar
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const token = takeToken();
const headers: HeadersInit = token ? { authorization: `Bearer ${token}` } : {};
const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

let locale: Locale = 'vi';
let defaultLocale: Locale = 'vi';
let idleMs = 60_000;
let idleTimer: number | undefined;
let prompt: { main: StringKey; hint: StringKey } = { main: 'insertCard', hint: 'insertCardHint' };
let status: StringKey = 'connecting';

function render(): void {
  document.documentElement.lang = locale;
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    el.textContent = text(el.dataset.i18n as StringKey, locale);
  }
  $('lang').setAttribute('lang', locale === 'vi' ? 'en' : 'vi');
  $('prompt').textContent = text(prompt.main, locale);
  $('hint').textContent = text(prompt.hint, locale);
  $('device-status').textContent = text(status, locale);
  $('screen').dataset.state = prompt.main === 'cardDetected' ? 'card' : 'start';
  $('device-status').parentElement!.dataset.state = status === 'readerReady' ? 'ready' : 'unavailable';
}

/** Back to the start screen in the default language: nothing of the last citizen stays on screen. */
function resetToStart(): void {
  locale = defaultLocale;
  prompt = { main: 'insertCard', hint: 'insertCardHint' };
  render();
}

function touched(): void {
  window.clearTimeout(idleTimer);
  idleTimer = window.setTimeout(resetToStart, idleMs);
}

function onEvent(event: KioskEvent): void {
  if (event.type === 'card-inserted') prompt = { main: 'cardDetected', hint: 'cardDetectedHint' };
  if (event.type === 'card-removed') prompt = { main: 'insertCard', hint: 'insertCardHint' };
  if (event.type === 'devices') {
    const reader = event.devices.find((d) => d.kind === 'card-reader');
    status = reader?.state === 'ready' ? 'readerReady' : 'readerUnavailable';
  }
  render();
  touched();
}

async function followEvents(): Promise<void> {
  const response = await fetch('/api/events', { headers });
  if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) onEvent(JSON.parse(line) as KioskEvent);
    }
  }
}

async function start(): Promise<void> {
  $('lang').addEventListener('click', () => {
    locale = locale === 'vi' ? 'en' : 'vi';
    render();
  });
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, touched, { passive: true });
  // Deny-by-default inside the page too: no context menu, no drag-out of images or text.
  document.addEventListener('contextmenu', (e) => e.preventDefault());
  document.addEventListener('dragstart', (e) => e.preventDefault());

  const session = await fetch('/api/session', { headers });
  if (session.ok) {
    const s = (await session.json()) as Session;
    defaultLocale = locale = s.ui.locale;
    idleMs = s.ui.idleResetSeconds * 1000;
  }
  render();
  touched();
  for (;;) {
    try {
      await followEvents();
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
