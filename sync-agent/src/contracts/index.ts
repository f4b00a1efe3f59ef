export { UPSTREAMS, CONTRACTS_DIR, contractFile, parseContract, readContract, type UpstreamName, type OpenApiDocument } from './documents.js';
export { Contracts, type ContractRequest, type ContractResponse, type ContractProblem } from './validator.js';
export {
  requestFor, bhytLookupRequest, isDeliveredUpstream, FHIR_SYSTEMS,
  cityTthcPayload, populationLgspPayload, hospitalFhirPayload, bhytLookup,
  type CityTthcPayload, type PopulationLgspPayload, type HospitalFhirPayload, type BhytLookup,
  type DeliveredUpstream, type OutboxDelivery, type DeviceIdentity,
} from './requests.js';
