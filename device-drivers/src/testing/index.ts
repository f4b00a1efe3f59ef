export { PcscHarness, pcscSkipReason, vpcdReaderName, VPCD_SLOTS, type InsertedCard } from './pcsc-harness.js';
export { ICAO_APPENDIX_D, ICAO_APPENDIX_G1 } from './icao-9303-vectors.js';
