import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, loadConfig, type KioskConfig } from '@kiosk/common';
import { syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { notifyAgent, TransactionStore } from '@kiosk/store';
import { formatProgress, reportProgress } from '../src/agent/progress.js';
import { runAgent } from '../src/agent/run-agent.js';
import { SyncAgent } from '../src/agent/sync-agent.js';
import { ScriptedUpstream, submission } from './agent-harness.js';

const log = createLogger({ name: 'test', level: 'silent' });

describe('runAgent (what `kiosk-sync run` calls) with the configuration of a device', () => {
  let dir: string;
  let config: KioskConfig;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-run-agent-'));
    await writeSyncPkiFolder(join(dir, 'pki'), syncPki());
    const file = join(dir, 'kiosk.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        store: { path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') },
        sync: { clientCert: join(dir, 'pki', 'device.pem'), clientKey: join(dir, 'pki', 'device-key.pem'), upstreamCa: join(dir, 'pki', 'ca.pem'), agent: { port: 7480, tokenFile: join(dir, 'run', 'agent.token'), pollIntervalMs: 600_000 } },
      }),
    );
    const loaded = loadConfig({ file, env: {} });
    // The schema takes real ports only; the test asks the system for a free one.
    config = { ...loaded, sync: { ...loaded.sync, agent: { ...loaded.sync.agent, port: 0 } } };
    const store = TransactionStore.fromConfig(config.store);
    store.recordMany(Array.from({ length: 120 }, (_, i) => submission(i, ['city'])));
    store.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--once drains the outbox and returns; with a retry due after --max-wait it fails naming what waits', async () => {
    const city = new ScriptedUpstream('city');
    // `until` that never comes: the test process's own SIGINT/SIGTERM stay untouched.
    const never = new Promise<void>(() => undefined);
    const done = await runAgent({ config, log, once: true, until: never, transports: () => [city] });
    expect(done).toMatchObject({ complete: true, counts: { delivered: 120 } });

    const store = TransactionStore.fromConfig(config.store);
    store.recordMany([submission(1, ['city'])]);
    store.close();
    const busy = new ScriptedUpstream('city', () => ({ status: 429, retryAfter: '600' }));
    await expect(runAgent({ config, log, once: true, until: never, maxWaitMs: 1000, transports: () => [busy] })).rejects.toMatchObject({
      code: 'SYNC_ONCE_INCOMPLETE',
      message: expect.stringContaining('city: 1 pending') as unknown,
    });
  });

  it('--once interrupted (SIGTERM) finishes the round in flight and fails naming what is left', async () => {
    let interrupt!: () => void;
    const until = new Promise<void>((resolve) => (interrupt = resolve));
    const city = new ScriptedUpstream('city');
    city.onSend = (_batch, call) => {
      if (call === 0) interrupt();
    };
    await expect(runAgent({ config, log, once: true, until, transports: () => [city] })).rejects.toMatchObject({ code: 'SYNC_ONCE_INCOMPLETE', message: expect.stringContaining('delivered 50,') as unknown });
    expect(city.received).toHaveLength(50);
    const store = TransactionStore.fromConfig(config.store);
    expect(store.outboxStatus().city).toMatchObject({ delivered: 50, pending: 70, inFlight: 0 });
    store.close();
  });

  it('long-running: listens on loopback with a 0600 token, is woken by the kiosk, and on stop removes the token and closes the transports', async () => {
    let closed = 0;
    const city = Object.assign(new ScriptedUpstream('city'), { close: () => closed++ });
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let port = 0;
    const running = runAgent({ config, log, until, transports: () => [city], onListening: (endpoint) => (port = endpoint.port) });
    await city.acknowledged(() => city.received.length === 120);
    const tokenFile = config.sync.agent.tokenFile;
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const store = TransactionStore.fromConfig(config.store);
    const [late] = store.recordMany([submission(500, ['city'], 'late')]);
    expect(await notifyAgent({ port, tokenFile })).toBe(true);
    await city.acknowledged((d) => d.transactionId === late!.id);
    store.close();
    stop();
    expect(await running).toBeUndefined();
    expect(existsSync(tokenFile)).toBe(false);
    expect(closed).toBe(1);
    expect(await notifyAgent({ port, tokenFile })).toBe(false);
  });
});

describe('progress of a long drain', () => {
  it('keeps one updating line on a terminal and logs a line every N seconds while deliveries flow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-progress-'));
    const store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    try {
      store.recordMany(Array.from({ length: 400 }, (_, i) => submission(i, ['city'])));
      let clock = 0;
      const tty: string[] = [];
      const logged: Array<Record<string, unknown>> = [];
      const capture = new Writable({
        write(chunk: Buffer, _e, cb) {
          logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          cb();
        },
      });
      const city = new ScriptedUpstream('city');
      city.onSend = () => {
        clock += 1000; // each batch of 50 takes a second by this clock
      };
      const agent = new SyncAgent({ store, transports: [city], log, pollIntervalMs: 600_000, relay: { batchSize: 50 } });
      const detach = reportProgress(agent, store, { log: createLogger({ name: 't', destination: capture }), tty: { write: (s: string) => tty.push(s) } as unknown as NodeJS.WriteStream, logEveryMs: 3000, now: () => clock });
      await agent.runOnce(0);
      detach();
      expect(tty.length).toBeGreaterThanOrEqual(8);
      expect(tty[0]).toBe('\r\x1b[2Kdelivered 50 · pending 350 · 50/s · ETA 7 s');
      expect(tty.at(-1)).toBe('\n');
      const lines = logged.filter((l) => l.msg === 'sync progress');
      expect(lines.map((l) => l.delivered)).toEqual([150, 300]);
      expect(lines[0]).toMatchObject({ pending: 250, perSecond: 50, etaSeconds: 5 });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formats the ETA in minutes when long and as unknown before the first delivery', () => {
    expect(formatProgress({ delivered: 0, pending: 100_000, perSecond: 0, etaSeconds: null })).toBe('delivered 0 · pending 100000 · 0/s · ETA ?');
    expect(formatProgress({ delivered: 6000, pending: 94_000, perSecond: 1000, etaSeconds: 94 })).toBe('delivered 6000 · pending 94000 · 1000/s · ETA 1.6 min');
  });
});
