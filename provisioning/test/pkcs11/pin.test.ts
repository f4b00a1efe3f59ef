import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PIN_ENV, readPin } from '../../src/pkcs11/pin.js';

const dir = mkdtempSync(join(tmpdir(), 'kiosk-pin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pinFile(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  return path;
}

describe('readPin', () => {
  it('reads a 0600 file verbatim, or the environment when no file is configured', () => {
    expect(readPin(pinFile('ok.pin', '2468'), {})).toBe('2468');
    expect(readPin(undefined, { [PIN_ENV]: '1357' })).toBe('1357');
  });

  it('refuses a file others may read, a missing, empty or multi-line file, and no PIN at all, with PKCS11_PIN_UNAVAILABLE', () => {
    expect(() => readPin(pinFile('open.pin', '2468', 0o644), {})).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
    expect(() => readPin(pinFile('group.pin', '2468', 0o640), {})).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
    expect(() => readPin(join(dir, 'missing.pin'), {})).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
    expect(() => readPin(pinFile('empty.pin', ''), {})).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
    // The TLS engine reads the file verbatim: a newline would be part of its PIN and fail its login.
    expect(() => readPin(pinFile('newline.pin', '2468\n'), {})).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
    expect(() => readPin(undefined, {})).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
  });
});
