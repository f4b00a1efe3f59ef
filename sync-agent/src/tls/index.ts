export { loadClientTls, loadCertificateAndCa, assertCertificateCurrent, type CertificateAndCa, type ClientTls, type ClientTlsFiles, type ClientTlsOptions, type ClientCertificateInfo } from './client-tls.js';
export { ClientTlsSource, type ClientTlsSourceOptions } from './client-tls-source.js';
export { classifyTlsError } from './classify-tls-error.js';
export { loadTokenClientTls, pkcs11KeyUri, DEFAULT_ENGINES_DIR, type TokenKey, type TokenClientTls, type TokenClientTlsOptions } from './token-key.js';
