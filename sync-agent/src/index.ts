export { classifyAnswer, backoffDelayMs, nextAttemptDelayMs, DEFAULT_BACKOFF, type DeliveryOutcome, type UpstreamAnswer, type BackoffPolicy } from './delivery-policy.js';
export { loadClientTls, ClientTlsSource, classifyTlsError, type ClientTls, type ClientTlsFiles, type ClientTlsOptions, type ClientCertificateInfo, type ClientTlsSourceOptions } from './tls/index.js';
