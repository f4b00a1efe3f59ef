export { classifyAnswer, backoffDelayMs, nextAttemptDelayMs, DEFAULT_BACKOFF, type DeliveryOutcome, type UpstreamAnswer, type BackoffPolicy } from './delivery-policy.js';
export * from './contracts/index.js';
