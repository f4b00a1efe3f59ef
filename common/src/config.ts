import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { KioskError } from './errors.js';
import { configSchema, type KioskConfig } from './config-schema.js';

export { configSchema, type KioskConfig } from './config-schema.js';

export const CONFIG_ENV_FILE = 'KIOSK_CONFIG';

export interface LoadConfigOptions {
  /** Path of the JSON file; falls back to $KIOSK_CONFIG; no file means defaults. */
  file?: string | undefined;
  /** Environment to read overrides from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

/** `ui.idleResetSeconds` -> `KIOSK_UI_IDLE_RESET_SECONDS`. */
export function envNameFor(section: string, key: string): string {
  const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return `KIOSK_${snake(section)}_${snake(key)}`;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new KioskError('CONFIG_FILE_UNREADABLE', `cannot read configuration file ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('top level is not an object');
    return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new KioskError('CONFIG_FILE_UNREADABLE', `configuration file ${path} is not a JSON object: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Loads the configuration: defaults, then the file, then `KIOSK_<SECTION>_<KEY>` environment variables
 * (values parsed as JSON when they parse, else taken as strings), validated as a whole.
 */
export function loadConfig(options: LoadConfigOptions = {}): KioskConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env[CONFIG_ENV_FILE];
  const raw: Record<string, Record<string, unknown>> = {};
  if (file) {
    for (const [section, value] of Object.entries(readConfigFile(file))) {
      raw[section] = value as Record<string, unknown>;
    }
  }
  for (const [section, sectionSchema] of Object.entries(configSchema.shape)) {
    const keys = Object.keys((sectionSchema.unwrap() as z.ZodObject).shape);
    for (const key of keys) {
      const value = env[envNameFor(section, key)];
      if (value === undefined) continue;
      const current = raw[section];
      raw[section] = { ...(current !== null && typeof current === 'object' ? current : {}), [key]: parseEnvValue(value) };
    }
  }
  // Simulated devices trust the test PKI: a production device must say which it runs, never fall into it.
  if (env.NODE_ENV === 'production' && raw.devices?.mode === undefined) {
    throw new KioskError('CONFIG_INVALID', `invalid configuration${file ? ` in ${file}` : ''}:\n  devices.mode: must be set (simulated or real) when NODE_ENV=production`, {
      details: { problems: ['devices.mode: must be set when NODE_ENV=production'] },
    });
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new KioskError('CONFIG_INVALID', `invalid configuration${file ? ` in ${file}` : ''}:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return result.data;
}
