export { SyncAgent, certificateState, type AgentStore, type Reconciler, type SyncAgentOptions, type SyncAgentEvents, type AgentHealth, type AgentRound, type CertificateState, type OnceResult, type WakeReason } from './sync-agent.js';
export { startAgentEndpoint, type AgentEndpoint, type AgentEndpointOptions } from './endpoint.js';
export { agentMetrics, type AgentMetrics } from './metrics.js';
export { reportProgress, formatProgress, type ProgressLine, type ProgressOptions } from './progress.js';
export { runAgent, DEFAULT_ONCE_MAX_WAIT_MS, type RunAgentOptions, type ClosableTransport } from './run-agent.js';
