export { TransactionStore, type OpenStoreOptions, type StoreStats } from './store.js';
export { FileKeyProvider, FileCheckpointSigner, type KeyProvider, type CheckpointSigner, type KeyFileOptions } from './key-provider.js';
export { TRANSACTION_KINDS, TRANSACTION_STATUSES, type TransactionKind, type TransactionStatus, type NewTransaction, type NewDelivery, type CitizenFields, type RecordedTransaction, type RecordedDelivery, type StoredTransaction, type RedactedRecord } from './transactions.js';
export type { DueDelivery, ClaimOptions, BatchMarkResult, DeadLetter, DeliveredKey, DeliveryState, RequeueResult, UpstreamOutboxStatus } from './outbox.js';
export type { EraseResult } from './retention.js';
export type { AuditCheckpoint, AuditProblem, AuditReport, VerifyAuditOptions } from './audit-log.js';
export type { JsonValue, Verdict } from './field-guard.js';
export { notifyAgent, type AgentEndpoint, type NotifyAgentOptions } from './agent-notify.js';
export { SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
