/**
 * How the relay treats an upstream's answer to one delivery, and when it tries again. Kept apart from the
 * transport so every adapter (city one-stop system, population-data service, hospital system) shares one policy.
 */
export type DeliveryOutcome =
  /** Durably accepted (2xx), or already had it (409 on a known idempotency key): mark delivered. */
  | { kind: 'delivered' }
  /** Worth retrying later: network failure, timeout, 408, 425, 429, 5xx. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /**
   * Our credentials were refused (401, 403, a TLS alert on our certificate), or the server is not the one we pin
   * (untrusted CA, wrong host): no retry fixes it, the upstream stops until a new certificate / CA is installed.
   * `code` is the typed SYNC_* error when TLS said so.
   */
  | { kind: 'reauthenticate'; reason: string; code?: string }
  /** The upstream refuses this delivery for good (other 4xx): dead-letter it with the reason, never block the queue. */
  | { kind: 'rejected'; reason: string };

export interface UpstreamAnswer {
  /** HTTP status, or undefined when no answer came (connection refused, reset, timeout, TLS failure). */
  status: number | undefined;
  /** Retry-After header value, if any. */
  retryAfter?: string | undefined;
  /** Short description of the network failure or of the upstream's error body. */
  error?: string | undefined;
  /** On an acknowledgement: the upstream's reference for the delivery (a dossier's tracking code), kept by the store. */
  receipt?: string | undefined;
  /** Never sent: the delivery cannot form a request the contract accepts, which no retry changes (`error` says why). */
  rejectedLocally?: boolean;
  /** Never answered: a typed TLS / credential failure (SYNC_* code) that stops the upstream rather than retrying. */
  stopCode?: string;
}

function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function classifyAnswer(answer: UpstreamAnswer, now = Date.now()): DeliveryOutcome {
  const { status } = answer;
  const detail = answer.error ? `: ${answer.error}` : '';
  if (answer.rejectedLocally) return { kind: 'rejected', reason: `not sent, the request is invalid${detail}` };
  if (answer.stopCode !== undefined) return { kind: 'reauthenticate', reason: `${answer.stopCode}${detail}`, code: answer.stopCode };
  if (status === undefined) return { kind: 'retry', reason: `no answer${detail}` };
  if ((status >= 200 && status < 300) || status === 409) return { kind: 'delivered' };
  if (status === 401 || status === 403) return { kind: 'reauthenticate', reason: `HTTP ${status}${detail}` };
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter, now);
    return retryAfterMs === undefined ? { kind: 'retry', reason: `HTTP ${status}${detail}` } : { kind: 'retry', reason: `HTTP ${status}${detail}`, retryAfterMs };
  }
  return { kind: 'rejected', reason: `HTTP ${status}${detail}` };
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 15 * 60 * 1000 };

/**
 * "Full jitter" backoff: a uniform delay in [0, min(cap, base * 2^attempt)). Spreads a fleet's retries after an
 * upstream outage instead of having every kiosk retry in lockstep. `random` is injectable for tests.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 52));
  return Math.floor(random() * ceiling);
}

/** The delay before the next attempt: the upstream's Retry-After when it gave one (capped), else the backoff. */
export function nextAttemptDelayMs(attempt: number, outcome: DeliveryOutcome, policy: BackoffPolicy = DEFAULT_BACKOFF, random?: () => number): number {
  if (outcome.kind === 'retry' && outcome.retryAfterMs !== undefined) return Math.min(outcome.retryAfterMs, policy.capMs);
  return backoffDelayMs(attempt, policy, random);
}
