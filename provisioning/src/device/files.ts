import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KioskError, configSchema, type KioskConfig } from '@kiosk/common';
import type { DeviceProfile } from '../ca/dev-ca.js';

/**
 * Files of an enrolled device. Every write is temp + rename in the same folder, so a kill -9 leaves either the old
 * file or the new one, never half of one (and a watcher such as the agent's ClientTlsSource sees one complete change).
 */
export function writeAtomic(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode });
  renameSync(temp, path);
}

/** PEM blocks one after the other, each ending in a line break (@peculiar/x509's toString('pem') has none). */
export const pemChain = (...pems: string[]): string => pems.map((pem) => `${pem.trim()}\n`).join('');

/** The steps of `init`, in order; the state file records the ones done. The configuration is written last. */
export const INIT_STEPS = ['key', 'csr', 'cacerts', 'enroll', 'install', 'store-keys', 'config', 'summary'] as const;
export type InitStep = (typeof INIT_STEPS)[number];

export interface InitState {
  done: InitStep[];
  site: string;
  profile: DeviceProfile;
  enrollUrl: string;
  csrDer?: string;
  caPem?: string;
  certPem?: string;
  /** ISO time and result of the last init run. */
  lastRun?: { at: string; result: string };
  lastRenewal?: { at: string; serial: string };
}

export const statePath = (configFile: string): string => `${configFile}.init-state.json`;

export function readState(configFile: string): InitState | undefined {
  const path = statePath(configFile);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as InitState;
}

export function writeState(configFile: string, state: InitState): void {
  writeAtomic(statePath(configFile), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/** The CA's profile names are the fleet's; the kiosk configuration calls the one-stop counter "public-service". */
export const CONFIG_PROFILE: Record<DeviceProfile, KioskConfig['device']['profile']> = { 'one-stop': 'public-service', hospital: 'hospital', notary: 'notary' };

/** The configuration file as it is (sections as written), or nothing when it does not exist yet. */
export function readRawConfig(configFile: string): Record<string, Record<string, unknown>> {
  if (!existsSync(configFile)) return {};
  return JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, Record<string, unknown>>;
}

/** The effective configuration of a file (defaults filled in), without the environment. */
export function effectiveConfig(configFile: string): KioskConfig {
  const parsed = configSchema.safeParse(readRawConfig(configFile));
  if (!parsed.success) throw new KioskError('CONFIG_INVALID', `${configFile} is not a valid kiosk configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}
