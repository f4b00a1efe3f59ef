import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configSchema } from '@kiosk/common';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/kiosk-provision.js', import.meta.url));

function tempConfig(value: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'provision-')), 'kiosk.config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

async function provision(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('kiosk-provision config', () => {
  it('check prints the effective configuration of a valid file, with environment overrides applied', async () => {
    const file = tempConfig({ device: { id: 'dn-hc-03', site: 'dn-haichau', profile: 'hospital' } });
    const { code, stdout } = await provision(['config', 'check', file], { KIOSK_UI_LOCALE: 'en' });
    expect(code).toBe(0);
    const config = JSON.parse(stdout) as { device: unknown; ui: { locale: string } };
    expect(config.device).toEqual({ id: 'dn-hc-03', site: 'dn-haichau', profile: 'hospital' });
    expect(config.ui.locale).toBe('en');
  });

  it('check exits 1 and names each bad key', async () => {
    const file = tempConfig({ service: { host: '0.0.0.0' }, ui: { idleResetSeconds: 1 } });
    const { code, stderr } = await provision(['config', 'check', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('[CONFIG_INVALID]');
    expect(stderr).toContain('service.host');
    expect(stderr).toContain('ui.idleResetSeconds');
  });

  it('defaults prints a file that check accepts', async () => {
    const defaults = await provision(['config', 'defaults']);
    const file = tempConfig(JSON.parse(defaults.stdout));
    expect((await provision(['config', 'check', file])).code).toBe(0);
  });

  it('schema prints a JSON Schema describing every section', async () => {
    const schema = JSON.parse((await provision(['config', 'schema'])).stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(Object.keys(configSchema.shape));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['device', 'service', 'devices', 'trust', 'store', 'face', 'qr']));
  });

  it('exits 2 on an unknown command', async () => {
    const { code, stderr } = await provision(['config', 'frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage:');
  });
});
