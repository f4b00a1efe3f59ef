export { classifyAnswer, backoffDelayMs, nextAttemptDelayMs, DEFAULT_BACKOFF, type DeliveryOutcome, type UpstreamAnswer, type BackoffPolicy } from './delivery-policy.js';
export { Relay, type OutboxPort, type UpstreamTransport, type UpstreamHealth, type RelayOptions, type RoundCounts, type RelayEvents } from './relay/relay.js';
export { loadClientTls, loadTokenClientTls, pkcs11KeyUri, DEFAULT_ENGINES_DIR, ClientTlsSource, classifyTlsError, type TokenKey, type TokenClientTls, type TokenClientTlsOptions, type ClientTls, type ClientTlsFiles, type ClientTlsOptions, type ClientCertificateInfo, type ClientTlsSourceOptions } from './tls/index.js';
export * from './contracts/index.js';
export { Reconciler, type ReconcilerOptions, type ReconcileResult, type ReconcileStorePort, type ReconcileTransport } from './relay/reconciler.js';
export * from './transport/index.js';
export * from './agent/index.js';
