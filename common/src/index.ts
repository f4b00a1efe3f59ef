export { ERROR_CODES, KioskError, isKioskError, type ErrorCode, type KioskErrorOptions } from './errors.js';
export { REDACTED, redactDeep, scrubText, isSensitiveKey } from './redact.js';
export { createLogger, type Logger, type CreateLoggerOptions } from './logger.js';
export { loadConfig, envNameFor, configSchema, CONFIG_ENV_FILE, type KioskConfig, type LoadConfigOptions } from './config.js';
export { runCli, runCommands, parseCliArgs, untilSignal, type Subcommand } from './cli.js';
export { renderConfigDoc } from './config-doc.js';
