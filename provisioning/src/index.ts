export { checkConfigFile, defaultConfig, configJsonSchema } from './config-commands.js';
export * from './pkcs11/index.js';
export * from './ca/index.js';
