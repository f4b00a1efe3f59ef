import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh per-boot API token: the UI gets it at launch (URL fragment), nothing else knows it. */
export function newApiToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * Accepts only Host headers naming the loopback address we listen on. Blocks DNS rebinding: a web page on another
 * origin that resolves its name to 127.0.0.1 still sends its own name as Host.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}
