export { Pkcs11Token, DEFAULT_PKCS11_MODULE, type Pkcs11TokenOptions, type KeyClass } from './token.js';
export { readPin, PIN_ENV } from './pin.js';
export { createTokenCsr, type TokenCsrOptions } from './csr.js';
export { Pkcs11KeyProvider, Pkcs11CheckpointSigner } from './store-keys.js';
