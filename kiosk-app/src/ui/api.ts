import type { IdentityProgressEvent } from '../shared/identity-api.js';

/** The renderer's only channel: the local API on the page's own origin, with the per-boot token. */

export interface DeviceStatus {
  kind: string;
  state: 'ready' | 'unavailable';
  readers: Array<{ name: string; cardPresent: boolean }>;
}

export type KioskEvent =
  | { type: 'card-inserted'; reader: string }
  | { type: 'card-removed'; reader: string }
  | { type: 'devices'; devices: DeviceStatus[] }
  | IdentityProgressEvent;

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
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

export async function getJson<T>(path: string): Promise<T | undefined> {
  const response = await fetch(path, { headers });
  return response.ok ? ((await response.json()) as T) : undefined;
}

/** Posts JSON; a non-2xx answer is thrown as its typed error code (or HTTP_<status>). */
export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json().catch(() => undefined)) as { error?: { code?: string } } | undefined;
  if (!response.ok) throw new Error(json?.error?.code ?? `HTTP_${response.status}`);
  return json as T;
}

/** Reads the NDJSON event stream until it ends (fetch streaming: EventSource cannot send the token). */
export async function followEvents(onEvent: (event: KioskEvent) => void): Promise<void> {
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
