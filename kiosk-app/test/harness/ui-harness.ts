import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, type KioskConfig } from '@kiosk/common';
import type { TransactionStore } from '@kiosk/store';
import type { CardMonitor } from '../../src/service/card-monitor.js';
import { startKioskRuntime } from '../../src/service/kiosk-runtime.js';
import type { KioskServer } from '../../src/service/server.js';
import { simDevicesEnv } from './sim-devices.js';
import { startXvfb, xvfbMissing, type XvfbDisplay } from './xvfb.js';

/**
 * The real UI path for tests: the kiosk service (with its PC/SC card monitor) on 127.0.0.1, a virtual display,
 * and Debian Chromium driven by playwright-core in a real (non-headless) window on that display.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const RESULTS_DIR = new URL('../../../test-results/', import.meta.url);

export function uiSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = xvfbMissing() ?? (existsSync(CHROMIUM) ? undefined : 'Debian chromium is not installed (apt package chromium)');
  if (!missing) return undefined;
  if (env.CI) throw new Error(`UI integration tests cannot run under CI: ${missing}`);
  process.stderr.write(`\n*** SKIPPING UI integration tests: ${missing} ***\n\n`);
  return missing;
}

export interface UiHarness {
  xvfb: XvfbDisplay;
  browser: Browser;
  page: Page;
  server: KioskServer;
  cards: CardMonitor;
  /** The kiosk's transaction store, in a temporary folder removed by stop(). */
  store: TransactionStore;
  config: KioskConfig;
  /** The kiosk's whole configuration as a file (for processes that must share it, e.g. the sync agent). */
  configFile: string;
  /** The temporary folder of the store and the configuration, removed by stop(). */
  dataDir: string;
  /** Saves a PNG under test-results/ and returns its path. */
  screenshot(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `env`: configuration by environment variables; `file(dataDir)`: sections for the configuration file (what
 * environment variables cannot say, e.g. sync.upstreams), given the harness's temporary folder.
 */
export async function startUiHarness(env: NodeJS.ProcessEnv = {}, file: (dataDir: string) => Record<string, unknown> = () => ({})): Promise<UiHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiosk-ui-'));
  const givenFile = join(dataDir, 'kiosk.config.json');
  writeFileSync(givenFile, JSON.stringify(file(dataDir)));
  const config = loadConfig({
    file: givenFile,
    env: {
      KIOSK_SERVICE_PORT: '0',
      KIOSK_TRUST_FOLDER: join(dataDir, 'trust'),
      KIOSK_STORE_PATH: join(dataDir, 'store.db'),
      KIOSK_STORE_KEY_FILE: join(dataDir, 'store-wrap.key'),
      KIOSK_STORE_SIGNING_KEY_FILE: join(dataDir, 'store-signing.pem'),
      // What `kiosk-sim setup` writes before `npm start`: the test trust store, the first persona's camera frames.
      ...(await simDevicesEnv(dataDir)),
      ...env,
    },
  });
  // The whole configuration in force, so another process (the sync agent) reads exactly the kiosk's.
  const configFile = join(dataDir, 'kiosk.effective.json');
  writeFileSync(configFile, JSON.stringify(config));
  const log = createLogger({ name: 'kiosk-test', level: 'warn' });
  const xvfb = await startXvfb();
  const runtime = await startKioskRuntime(config, log);
  const { server, cards, store } = runtime;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: false,
    env: { ...process.env, DISPLAY: xvfb.display },
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-position=0,0', '--window-size=1280,800'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.launchUrl);
  return {
    xvfb,
    browser,
    page,
    server,
    cards,
    store,
    config,
    configFile,
    dataDir,
    async screenshot(name) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      const path = new URL(name, RESULTS_DIR).pathname;
      await page.screenshot({ path });
      return path;
    },
    async stop() {
      await browser.close();
      await runtime.stop();
      await xvfb.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
