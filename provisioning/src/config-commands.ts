import { z } from 'zod';
import { configSchema, loadConfig, type KioskConfig } from '@kiosk/common';

/** What a technician checks before a device goes live: the file validates, and the effective values. */
export function checkConfigFile(file: string | undefined, env: NodeJS.ProcessEnv): KioskConfig {
  return loadConfig({ file, env });
}

export function defaultConfig(): KioskConfig {
  return configSchema.parse({});
}

/** JSON Schema of the configuration file, for editors and for site tooling. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input' });
}
