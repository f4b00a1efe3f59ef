export { loadClientTls, assertCertificateCurrent, type ClientTls, type ClientTlsFiles, type ClientTlsOptions, type ClientCertificateInfo } from './client-tls.js';
export { ClientTlsSource, type ClientTlsSourceOptions } from './client-tls-source.js';
export { classifyTlsError } from './classify-tls-error.js';
