export { checkConfigFile, defaultConfig, configJsonSchema } from './config-commands.js';
