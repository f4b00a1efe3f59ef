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

// Each case starts the CLI, which loads X.509 and fastify for ca: slower than the config commands on a busy machine.
describe('kiosk-provision ca (usage)', { timeout: 30_000 }, () => {
  it('--help names every ca command and option, and the top-level help points to it', async () => {
    const { code, stdout } = await provision(['ca', '--help']);
    expect(code).toBe(0);
    for (const word of ['ca init', 'ca serve', 'ca token', 'ca revoke', 'ca list', '--dir', '--host', '--port', '--validity-days', '--site', '--profile', '--ttl', '--device-serial', '--json', 'one-stop|hospital|notary']) {
      expect(stdout).toContain(word);
    }
    expect((await provision(['--help'])).stdout).toContain('kiosk-provision ca init|serve|token|revoke|list');
  });

  it('exits 2 on a missing option, a bad --ttl or an unknown ca command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-ca-'));
    expect(await provision(['ca', 'token', '--profile', 'hospital', '--dir', dir])).toMatchObject({ code: 2, stderr: expect.stringContaining('--site') as unknown });
    expect(await provision(['ca', 'token', '--site', 'hn', '--profile', 'hospital', '--ttl', '3 weeks', '--dir', dir])).toMatchObject({ code: 2, stderr: expect.stringContaining('--ttl') as unknown });
    expect((await provision(['ca', 'frobnicate'])).code).toBe(2);
  });
});
