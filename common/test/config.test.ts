import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envNameFor, loadConfig } from '../src/config.js';
import { isKioskError } from '../src/errors.js';
import { renderConfigDoc } from '../src/config-doc.js';

function tempFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kiosk-config-')), 'kiosk.config.json');
  writeFileSync(file, content);
  return file;
}

describe('loadConfig', () => {
  it('gives development defaults with no file and no environment', () => {
    const config = loadConfig({ env: {} });
    expect(config.service).toEqual({ host: '127.0.0.1', port: 8470 });
    expect(config.devices.mode).toBe('simulated');
    expect(config.ui.locale).toBe('vi');
  });

  it('layers file, then environment', () => {
    const file = tempFile(JSON.stringify({ device: { id: 'hcm-q1-07', profile: 'hospital' }, service: { port: 9000 } }));
    const config = loadConfig({ file, env: { KIOSK_SERVICE_PORT: '9100', KIOSK_UI_IDLE_RESET_SECONDS: '90' } });
    expect(config.device).toEqual({ id: 'hcm-q1-07', site: 'dev', profile: 'hospital' });
    expect(config.service.port).toBe(9100);
    expect(config.ui.idleResetSeconds).toBe(90);
  });

  it('names the environment variable after section and key', () => {
    expect(envNameFor('ui', 'idleResetSeconds')).toBe('KIOSK_UI_IDLE_RESET_SECONDS');
    expect(envNameFor('service', 'port')).toBe('KIOSK_SERVICE_PORT');
  });

  it('refuses a non-loopback host, listing the offending key', () => {
    try {
      loadConfig({ env: { KIOSK_SERVICE_HOST: '0.0.0.0', KIOSK_SERVICE_PORT: '70000' } });
      expect.unreachable();
    } catch (err) {
      expect(isKioskError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('service.host');
      expect((err as Error).message).toContain('service.port');
    }
  });

  it('refuses unknown keys (a typo must not silently fall back to a default)', () => {
    const file = tempFile(JSON.stringify({ servce: { port: 1 } }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/servce/);
  });

  it('reports an unreadable or non-JSON file with its own code', () => {
    const bad = tempFile('{ not json');
    for (const file of [bad, '/nonexistent/kiosk.config.json']) {
      try {
        loadConfig({ file, env: {} });
        expect.unreachable();
      } catch (err) {
        expect(isKioskError(err, 'CONFIG_FILE_UNREADABLE')).toBe(true);
      }
    }
  });

  it('takes the file from KIOSK_CONFIG', () => {
    const file = tempFile(JSON.stringify({ log: { level: 'debug' } }));
    expect(loadConfig({ env: { KIOSK_CONFIG: file } }).log.level).toBe('debug');
  });
});

describe('docs/configuration.md', () => {
  it('is the one generated from the schema (run `npm run docs:config` after changing it)', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderConfigDoc());
  });
});
