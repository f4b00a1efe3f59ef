import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@kiosk/common';
import { LOAD_UPSTREAMS, syntheticTransactions } from '@kiosk/fixtures';
import type { UpstreamOutboxStatus } from '@kiosk/store';
import { Contracts } from '../src/contracts/index.js';
import { DEFAULT_BACKOFF } from '../src/delivery-policy.js';
import { Relay, type UpstreamTransport } from '../src/relay/relay.js';
import { ClientTlsSource } from '../src/tls/index.js';
import { createUpstreamTransports, type HttpsUpstreamTransport } from '../src/transport/index.js';
import { checkDeliveries, readStoreLedger } from './helpers/delivery-checker.js';
import { freePort, startSyncRig, writeRigConfig, type SyncRig } from './helpers/sync-rig.js';

// A kiosk offline for a week: its upstreams refuse every connection (the fault proxies are disabled) while it keeps
// recording, on a simulated clock the store and the relay share, over the real HTTPS transports and simulators. The
// loop below is the agent's: it wakes for a new row or when the earliest retry comes due (store.nextDueAt), never
// before. Then the upstreams come back and the backlog drains.

const DAY = 86_400_000;
const DAYS = 7;
const PER_DAY = 100;
const STREAMS = 2;
const SEED = 7;
const quiet = createLogger({ name: 'offline-week', level: 'silent' });
const kioskSync = fileURLToPath(new URL('../bin/kiosk-sync.js', import.meta.url));

describe('offline for a simulated week', () => {
  // Ends near the real time, so `kiosk-sync status` (real clock) sees the same week-old backlog.
  const start = Date.now() - DAYS * DAY;
  let clock = start;
  let rig: SyncRig;
  let configPath: string;
  let tls: ClientTlsSource;
  let transports: HttpsUpstreamTransport[] = [];

  beforeAll(async () => {
    rig = await startSyncRig('offline-week-', { seed: SEED, now: () => clock });
    configPath = writeRigConfig(rig, { port: await freePort(), batchSize: 50, concurrency: 4, timeoutMs: 3000 });
    const config = loadConfig({ file: configPath, env: {} });
    tls = new ClientTlsSource(config.sync);
    transports = createUpstreamTransports({ config, tls, contracts: await Contracts.load(), deviceId: rig.pki.deviceId, log: quiet });
  });
  afterAll(async () => {
    for (const t of transports) t.close();
    tls?.close();
    await rig?.close();
  });

  it('keeps recording, retries with capped backoff (attempts bounded), then drains the backlog: nothing lost or doubled', { timeout: 300_000 }, async () => {
    let attempts = 0;
    const counted: UpstreamTransport[] = transports.map((t) => ({
      name: t.name,
      send: (batch) => {
        attempts += batch.length;
        return t.send(batch);
      },
    }));
    const relay = new Relay({ store: rig.store, upstreams: counted, log: quiet, now: () => clock });
    for (const proxy of rig.proxies.values()) await proxy.disable();

    const source = syntheticTransactions({ seed: SEED, upstreams: LOAD_UPSTREAMS, streams: STREAMS });
    const total = DAYS * PER_DAY;
    let recorded = 0;
    let wakes = 0;
    const firstAt: Record<string, number> = {};
    const end = start + DAYS * DAY;
    while (clock < end) {
      const recordAt = recorded < total ? start + recorded * (DAY / PER_DAY) : Infinity;
      const dueAt = rig.store.nextDueAt(LOAD_UPSTREAMS) ?? Infinity;
      clock = Math.min(end, Math.max(clock, Math.min(recordAt, dueAt)));
      if (clock === end) break;
      if (recordAt <= clock) {
        const tx = source.next();
        for (const d of tx.deliveries) firstAt[d.upstream] ??= clock;
        rig.store.recordTransaction(tx);
        recorded++;
      }
      wakes++;
      await relay.round();
    }
    const offline = rig.store.outboxStatus();
    const pendingOffline = Object.values(offline).reduce((n, s) => n + s.pending, 0);
    const cli = await promisify(execFile)(process.execPath, [kioskSync, 'status', '--json'], { env: { ...process.env, KIOSK_CONFIG: configPath } });
    const reported = (JSON.parse(cli.stdout) as { upstreams: Record<string, UpstreamOutboxStatus> }).upstreams;
    const attemptsOffline = attempts;

    // The upstreams come back; the agent's next wake is the earliest retry (within the backoff cap).
    for (const proxy of rig.proxies.values()) await proxy.enable();
    const backAt = clock;
    let drains = 0;
    for (let status = rig.store.outboxStatus(); Object.values(status).some((s) => s.pending > 0); status = rig.store.outboxStatus()) {
      clock = Math.max(clock, rig.store.nextDueAt(LOAD_UPSTREAMS) ?? clock);
      await relay.drain();
      drains++;
    }
    const after = rig.store.outboxStatus();
    const ledger = readStoreLedger(rig.storePath);
    const result = checkDeliveries(ledger, Object.fromEntries(rig.delivering.map((sim) => [sim.upstream, sim.records()])));
    // Each head delivery (one per stream and upstream) is retried at most about once per half the cap (full jitter's
    // mean) once the backoff reaches it, plus the doubling steps up to it; a margin of 25% for the draws.
    const heads = STREAMS * LOAD_UPSTREAMS.length;
    const bound = Math.ceil(heads * ((DAYS * DAY) / (DEFAULT_BACKOFF.capMs / 2)) * 1.25) + heads * 12;
    const rows: Array<[string, string | number]> = [
      ['simulated offline time', `${DAYS} days`],
      ['transactions recorded offline', recorded],
      ['deliveries pending at the end of the week', pendingOffline],
      ['oldest pending age (store / kiosk-sync status)', `${(Math.max(...Object.values(offline).map((s) => s.oldestPendingAgeMs ?? 0)) / DAY).toFixed(2)} d / ${(Math.max(...Object.values(reported).map((s) => s.oldestPendingAgeMs ?? 0)) / DAY).toFixed(2)} d`],
      ['attempts while offline (bound)', `${attemptsOffline} (${bound})`],
      ['agent wakes while offline', wakes],
      ['drained after the upstreams came back', `${result.held} held, ${drains} drain(s), ${Math.round((clock - backAt) / 1000)} s simulated`],
      ['pending / dead letters / problems after', `${result.pending} / ${result.deadLettered} / ${result.problems.length}`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(['offline week', ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...result.problems.slice(0, 20)].join('\n'));

    expect(recorded).toBe(total);
    expect(pendingOffline).toBe(result.deliveries);
    for (const upstream of LOAD_UPSTREAMS) {
      // The oldest pending delivery is the upstream's first, recorded on the first day.
      expect(offline[upstream]).toMatchObject({ delivered: 0, oldestPendingAt: firstAt[upstream], oldestPendingAgeMs: end - firstAt[upstream]! });
      expect(reported[upstream]!.oldestPendingAgeMs).toBeGreaterThanOrEqual(end - firstAt[upstream]!);
      expect(firstAt[upstream]! - start).toBeLessThan(DAY);
      expect(after[upstream]).toMatchObject({ pending: 0, oldestPendingAt: null, oldestPendingAgeMs: null });
    }
    expect(attemptsOffline).toBeGreaterThan(heads * DAYS);
    expect(attemptsOffline).toBeLessThanOrEqual(bound);
    expect(clock - backAt).toBeLessThanOrEqual(DEFAULT_BACKOFF.capMs);
    expect(result.problems).toEqual([]);
    expect(result.held).toBe(result.deliveries);
    expect(rig.store.verifyAudit()).toMatchObject({ ok: true, problems: [] });
  });
});
