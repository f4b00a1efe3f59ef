export { checkConfigFile, defaultConfig, configJsonSchema } from './config-commands.js';
export * from './ca/index.js';
