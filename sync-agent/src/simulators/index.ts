export { UpstreamSimulator, startSimulators, DEFAULT_BASE_PORT, type SimulatorOptions, type SimulatorsOptions, type SimulatorTls, type SimulatorStats } from './simulator.js';
export { startAdmin, type AdminServer, type AdminOptions } from './admin.js';
export { FaultPlan, FAULT_KINDS, parseFaultSpec, faultFromFlags, seededRandom, type FaultKind, type FaultSpec } from './faults.js';
export { SimulatorDb, type DeliveryRecord } from './sim-db.js';
export { DEFAULT_BHYT_CARDS, BHYT_RESULT_CODES, bhytAnswer, type BhytCard } from './upstreams.js';
