export { PcscHarness, pcscSkipReason, vpcdReaderName, VPCD_SLOTS, type InsertedCard } from './pcsc-harness.js';
