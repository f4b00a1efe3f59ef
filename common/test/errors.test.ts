import { describe, expect, it } from 'vitest';
import { ERROR_CODES, KioskError, isKioskError } from '../src/errors.js';

describe('KioskError', () => {
  it('carries a stable code, details and cause, and serialises without the stack', () => {
    const cause = new Error('socket closed');
    const err = new KioskError('CARD_REMOVED', 'card gone', { cause, details: { reader: 'Virtual PCD 00 00' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'CARD_REMOVED', message: 'card gone', details: { reader: 'Virtual PCD 00 00' } });
    expect(isKioskError(err, 'CARD_REMOVED')).toBe(true);
    expect(isKioskError(err, 'USAGE')).toBe(false);
    expect(isKioskError(cause)).toBe(false);
  });

  it('codes are upper snake case and each has a description', () => {
    for (const [code, description] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(description.length).toBeGreaterThan(10);
    }
  });
});
