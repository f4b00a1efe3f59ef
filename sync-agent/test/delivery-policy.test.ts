import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelayMs, classifyAnswer, nextAttemptDelayMs, DEFAULT_BACKOFF } from '../src/delivery-policy.js';

describe('classifyAnswer', () => {
  it('treats 2xx and 409 (already have it) as delivered', () => {
    for (const status of [200, 201, 204, 409]) expect(classifyAnswer({ status }).kind).toBe('delivered');
  });

  it('retries on no answer, 408, 425, 429 and 5xx', () => {
    expect(classifyAnswer({ status: undefined, error: 'ECONNREFUSED' })).toEqual({ kind: 'retry', reason: 'no answer: ECONNREFUSED' });
    for (const status of [408, 425, 429, 500, 502, 503, 504]) expect(classifyAnswer({ status }).kind).toBe('retry');
  });

  it('asks to re-authenticate on 401 and 403', () => {
    for (const status of [401, 403]) expect(classifyAnswer({ status }).kind).toBe('reauthenticate');
  });

  it('dead-letters other 4xx with the reason', () => {
    expect(classifyAnswer({ status: 422, error: 'maThe invalid' })).toEqual({ kind: 'rejected', reason: 'HTTP 422: maThe invalid' });
    expect(classifyAnswer({ status: 400 }).kind).toBe('rejected');
  });

  it('dead-letters a delivery that was never sent because it cannot form a valid request', () => {
    expect(classifyAnswer({ status: undefined, rejectedLocally: true, error: 'city-tthc submitDossier request: /body/procedureCode must match pattern' })).toEqual({
      kind: 'rejected',
      reason: 'not sent, the request is invalid: city-tthc submitDossier request: /body/procedureCode must match pattern',
    });
  });

  it('stops the upstream on a typed TLS failure instead of retrying it, with the code', () => {
    expect(classifyAnswer({ status: undefined, stopCode: 'SYNC_UPSTREAM_WRONG_HOST', error: 'not for this host' })).toEqual({ kind: 'reauthenticate', reason: 'SYNC_UPSTREAM_WRONG_HOST: not for this host', code: 'SYNC_UPSTREAM_WRONG_HOST' });
  });

  it('honours Retry-After in seconds and as an HTTP date', () => {
    const now = Date.parse('2026-11-26T10:00:00Z');
    expect(classifyAnswer({ status: 503, retryAfter: '120' }, now)).toMatchObject({ kind: 'retry', retryAfterMs: 120_000 });
    expect(classifyAnswer({ status: 429, retryAfter: 'Thu, 26 Nov 2026 10:00:30 GMT' }, now)).toMatchObject({ retryAfterMs: 30_000 });
    expect(classifyAnswer({ status: 503, retryAfter: 'soon' }, now)).not.toHaveProperty('retryAfterMs');
  });
});

describe('backoff', () => {
  it('stays within [0, min(cap, base * 2^attempt)) for any attempt (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 10_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(attempt, DEFAULT_BACKOFF, () => r);
        const ceiling = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** Math.max(attempt, 0));
        return Number.isInteger(d) && d >= 0 && d < Math.max(ceiling, 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('grows the ceiling with each attempt until the cap', () => {
    const top = (attempt: number): number => backoffDelayMs(attempt, { baseMs: 1000, capMs: 60_000 }, () => 0.999999);
    expect(top(0)).toBe(999);
    expect(top(3)).toBe(7999);
    expect(top(20)).toBe(59_999);
  });

  it('prefers the upstream Retry-After, capped', () => {
    expect(nextAttemptDelayMs(1, { kind: 'retry', reason: 'x', retryAfterMs: 5000 })).toBe(5000);
    expect(nextAttemptDelayMs(1, { kind: 'retry', reason: 'x', retryAfterMs: 10 ** 9 })).toBe(DEFAULT_BACKOFF.capMs);
    expect(nextAttemptDelayMs(2, { kind: 'retry', reason: 'x' }, DEFAULT_BACKOFF, () => 0.5)).toBe(2000);
  });
});
