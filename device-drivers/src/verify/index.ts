// Document verification: Passive Authentication against a CSCA trust store, and a verdict: @kiosk/device-drivers/verify
export { parseSod, parseSignedData, parseLdsSecurityObject, ID_LDS_SECURITY_OBJECT, ID_CSCA_MASTER_LIST, type SecurityObject, type CmsSignedData, type CmsSignerInfo, type LdsSecurityObject, type SignerIdentifier, type HashName } from './sod.js';
export { verifySignature, verifySignerInfo, type SignatureInput, type CheckOutcome, type CheckResult } from './signature.js';
export {
  TrustStore,
  parseCertificate,
  parseCrl,
  parseLdif,
  readPins,
  readTrustObjects,
  loadTrustStore,
  addToTrustFolder,
  listTrustFolder,
  importTrustFile,
  importMasterListFile,
  importLdifFile,
  type ParsedCertificate,
  type ParsedCrl,
  type DistinguishedName,
  type KeyUsage,
  type PinnedCertificate,
  type TrustedCsca,
  type TrustSource,
  type TrustEntry,
  type TrustObject,
  type LdifContent,
} from './trust-store.js';
export {
  verifyDocument,
  PUBLIC_SERVICE_POLICY,
  HOSPITAL_POLICY,
  NOTARY_POLICY,
  BUILT_IN_POLICIES,
  KNOWN_ISSUING_STATES,
  type Decision,
  type DocumentSignerInfo,
  type GapHandling,
  type Verdict,
  type VerificationPolicy,
  type VerifyDocumentInput,
  type DsChainResult,
  type ChipCheckInput,
} from './passive-authentication.js';
export { OFFLINE_CHIP_CHECKS, type ChipChecks } from './chip-checks.js';
export { TEST_PKI_CSCA_FINGERPRINTS, testAnchorReason, testAnchorsIn, assertNoTestAnchors } from './test-anchors.js';
