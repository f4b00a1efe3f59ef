import { describe, expect, it } from 'vitest';
import { hostAllowed, newApiToken, tokenMatches } from '../src/service/auth.js';
import { chromiumKioskArgs, displayAvailable } from '../src/shell/chromium-kiosk.js';

describe('local API guards', () => {
  it('issues a different 256-bit token each boot', () => {
    const a = newApiToken();
    expect(Buffer.from(a, 'base64url').length).toBe(32);
    expect(newApiToken()).not.toBe(a);
  });

  it('matches only the exact bearer token', () => {
    const t = newApiToken();
    expect(tokenMatches(t, `Bearer ${t}`)).toBe(true);
    expect(tokenMatches(t, `Bearer ${t}x`)).toBe(false);
    expect(tokenMatches(t, t)).toBe(false);
    expect(tokenMatches(t, undefined)).toBe(false);
  });

  it('allows only loopback Host headers on our port', () => {
    expect(hostAllowed('127.0.0.1:8470', 8470)).toBe(true);
    expect(hostAllowed('LOCALHOST:8470', 8470)).toBe(true);
    expect(hostAllowed('[::1]:8470', 8470)).toBe(true);
    expect(hostAllowed('127.0.0.1:8471', 8470)).toBe(false);
    expect(hostAllowed('kiosk.attacker.example:8470', 8470)).toBe(false);
    expect(hostAllowed(undefined, 8470)).toBe(false);
  });
});

describe('Chromium kiosk shell', () => {
  it('opens the app in kiosk mode with a fresh profile and no translate or first-run prompts', () => {
    const args = chromiumKioskArgs('http://127.0.0.1:8470/#token=x', '/tmp/p', false);
    expect(args).toEqual(expect.arrayContaining(['--kiosk', '--app=http://127.0.0.1:8470/#token=x', '--user-data-dir=/tmp/p', '--no-first-run', '--disable-translate', '--noerrdialogs']));
    expect(args).not.toContain('--no-sandbox');
    expect(chromiumKioskArgs('u', '/tmp/p', true)).toContain('--no-sandbox');
  });

  it('needs DISPLAY or WAYLAND_DISPLAY for a window', () => {
    expect(displayAvailable({})).toBe(false);
    expect(displayAvailable({ DISPLAY: ':99' })).toBe(true);
    expect(displayAvailable({ WAYLAND_DISPLAY: 'wayland-0' })).toBe(true);
  });
});
