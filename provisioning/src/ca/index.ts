export { DevCa, DEVICE_PROFILES, DEFAULT_CA_DIR, DEFAULT_VALIDITY_DAYS, CA_FILES, normalizeSerial, type DeviceProfile, type TokenRequest, type IssuedToken, type CertificateRecord, type Issued, type DevCaOptions } from './dev-ca.js';
export { startEstServer, tokenOf, EST_PATH, type EstServer, type EstServerOptions } from './est-server.js';
export { estCaCerts, estEnroll, estReenroll, type EstCaCerts } from './est-client.js';
export { checkCsr, decodeBase64Body, CSR_BODY_LIMIT } from './csr-policy.js';
export { fingerprint256, normalizeFingerprint, certsOnlyBase64 } from './x509.js';
