import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcscSkipReason } from '@kiosk/device-drivers/testing';
import { syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { simDevicesEnv } from './harness/sim-devices.js';
import { uiSkipReason } from './harness/ui-harness.js';
import { startXvfb, type XvfbDisplay } from './harness/xvfb.js';

const kioskBin = fileURLToPath(new URL('../bin/kiosk.js', import.meta.url));
const launcher = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));
// The kiosk's store and trust folder live here, not in the working tree's data/.
const dataDir = mkdtempSync(join(tmpdir(), 'kiosk-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// What `kiosk-sim setup` writes before `npm start` (the test trust store, camera frames), here too.
const DATA_ENV = {
  ...(await simDevicesEnv(dataDir)),
  KIOSK_TRUST_FOLDER: join(dataDir, 'trust'),
  KIOSK_STORE_PATH: join(dataDir, 'store.db'),
  KIOSK_STORE_KEY_FILE: join(dataDir, 'store-wrap.key'),
  KIOSK_STORE_SIGNING_KEY_FILE: join(dataDir, 'store-signing.pem'),
};

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout match of `pattern`. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
}

function startKiosk(args: string[], env: NodeJS.ProcessEnv, program: string[] = [kioskBin]): Running {
  const child = spawn(process.execPath, [...program, '--port', '0', ...args], { env: { ...DATA_ENV, ...env, KIOSK_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m) {
            child.stdout.off('data', check);
            resolve(m);
          }
        };
        child.stdout.on('data', check);
        child.once('exit', (code) => reject(new Error(`kiosk exited (${code}) before printing ${pattern}: ${out}`)));
        check();
      }),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(pcscSkipReason())('`npm start` (kiosk CLI)', () => {
  it('serves headless on 127.0.0.1, prints the launch URL, and stops cleanly on Ctrl-C', async () => {
    const env = { ...process.env };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const kiosk = startKiosk(['--headless'], env);
    const [, launchUrl] = await kiosk.waitFor(/open: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/);
    const url = new URL(launchUrl!);
    const token = new URLSearchParams(url.hash.slice(1)).get('token');
    expect((await (await fetch(new URL('/api/health', url))).json())).toEqual({ status: 'ok' });
    const devices = (await (await fetch(new URL('/api/devices', url), { headers: { authorization: `Bearer ${token}` } })).json()) as {
      devices: Array<{ kind: string; state: string; mode: string }>;
    };
    expect(devices.devices[0]).toMatchObject({ kind: 'card-reader', state: 'ready', mode: 'simulated' });
    kiosk.child.kill('SIGINT');
    const [code, signal] = (await once(kiosk.child, 'exit')) as [number | null, string | null];
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(kiosk.stdout()).toContain('stopping');
    await expect(fetch(new URL('/api/health', url))).rejects.toThrow();
  });

  it('the launcher (`npm start`) runs the upstream simulators and the sync agent beside the kiosk; SIGTERM stops all three', async () => {
    // Ports off the defaults, so a developer's own `npm start` on this machine does not meet the test's.
    const base = 27441;
    const agentPort = 27480;
    await writeSyncPkiFolder(join(dataDir, 'sync'), syncPki());
    const config = join(dataDir, 'launcher.config.json');
    const url = (i: number): { url: string } => ({ url: `https://localhost:${base + i}` });
    writeFileSync(config, JSON.stringify({
      sync: {
        clientCert: join(dataDir, 'sync', 'device.pem'), clientKey: join(dataDir, 'sync', 'device-key.pem'), upstreamCa: join(dataDir, 'sync', 'ca.pem'),
        upstreams: { 'city-tthc': url(0), 'population-lgsp': url(1), 'hospital-fhir': url(2), 'bhyt-check': url(3) },
        agent: { port: agentPort, tokenFile: join(dataDir, 'sync', 'agent.token') },
      },
    }));
    const env: NodeJS.ProcessEnv = { ...process.env, KIOSK_CONFIG: config };
    delete env.DISPLAY;
    const npmStart = startKiosk(['--headless'], env, ['--import', 'tsx', launcher]);
    await npmStart.waitFor(/open: http:\/\/127\.0\.0\.1:\d+\/#token=/);
    expect(npmStart.stdout()).toContain(`city-tthc        https://127.0.0.1:${base}`);
    expect(npmStart.stdout()).toMatch(/sync agent: kiosk-sync run \(log .*sync-agent\.log/);
    // The simulators speak mTLS: no client certificate, 401 from the city system.
    const status = await new Promise<number>((done, fail) => request(`https://localhost:${base}/dossiers/X`, { ca: syncPki().serverCa.certificate }, (res) => done(res.statusCode ?? 0)).on('error', fail).end());
    expect(status).toBe(401);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${agentPort}/health`).catch(() => undefined))?.status, { timeout: 20_000 }).toBe(200);
    npmStart.child.kill('SIGTERM');
    const [code] = (await once(npmStart.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    await expect(fetch(`http://127.0.0.1:${agentPort}/health`)).rejects.toThrow();
    await expect(new Promise((done, fail) => request(`https://localhost:${base}/`, { ca: syncPki().serverCa.certificate }, done).on('error', fail).end())).rejects.toThrow();
  });

  it('refuses to start on real devices without a CSCA in the trust folder (exit 1, TRUST_STORE_MISSING)', async () => {
    const kiosk = startKiosk(['--headless'], { ...process.env, KIOSK_DEVICES_MODE: 'real' });
    const [code] = (await once(kiosk.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(kiosk.stderr()).toContain('kiosk: error [TRUST_STORE_MISSING]: real devices need CSCA certificates in the trust folder');
    expect(kiosk.stdout()).not.toContain('kiosk service:');
  });

  describe.skipIf(uiSkipReason())('with a display', () => {
    let xvfb: XvfbDisplay;
    beforeAll(async () => {
      xvfb = await startXvfb();
    });
    afterAll(async () => {
      await xvfb?.stop();
    });

    it('opens Chromium in kiosk mode, and Ctrl-C stops the window (all its processes) and the service', async () => {
      const kiosk = startKiosk([], { ...process.env, DISPLAY: xvfb.display });
      const [, pid] = await kiosk.waitFor(/kiosk window: Chromium \(pid (\d+)\)/);
      const browserPid = Number(pid);
      expect(alive(browserPid)).toBe(true);
      kiosk.child.kill('SIGINT');
      const [code, signal] = (await once(kiosk.child, 'exit')) as [number | null, string | null];
      expect({ code, signal, stderr: code === 0 ? '' : kiosk.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(alive(browserPid)).toBe(false);
      // No helper process of the browser's group is left (poll: the kernel reaps killed processes asynchronously).
      await expect.poll(() => alive(-browserPid)).toBe(false);
    });
  });
});
