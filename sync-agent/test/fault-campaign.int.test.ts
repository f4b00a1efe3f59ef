import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOAD_UPSTREAMS, recordSyntheticLoad, type ToxicSpec } from '@kiosk/fixtures';
import { notifyAgent, type AgentEndpoint } from '@kiosk/store';
import { seededRandom, type FaultSpec } from '../src/simulators/index.js';
import { checkDeliveries, readStoreLedger } from './helpers/delivery-checker.js';
import { exited, freePort, spawnKioskSync, startSyncRig, writeRigConfig, type SyncRig } from './helpers/sync-rig.js';

// Issue 14's fault campaign: the kiosk side records 10,000 synthetic transactions in batches while `kiosk-sync run`
// (a child process) delivers them through a FaultProxy per upstream to the simulators, and a seeded schedule breaks
// the network, the upstreams and the agent itself. Then every fault is cleared, the agent drains, and the checker
// holds the simulators' records against the store's outbox and audit log.

const SEED = 1414;
const BATCHES = 20;
const PER_BATCH = 500;
const STEP_MS = 3000;

type Kind = 'latency' | 'bandwidth' | 'reset_peer' | 'half-open' | 'slicer' | 'drop-before-commit' | 'drop-after-commit' | '5xx' | 'throttle' | 'reset-mid-response' | 'restore' | 'kill' | 'restart-sims';
const EVERY_KIND: Kind[] = ['latency', 'bandwidth', 'reset_peer', 'half-open', 'slicer', 'drop-before-commit', 'drop-after-commit', '5xx', 'throttle', 'reset-mid-response', 'restore', 'kill', 'restart-sims'];

/** The schedule: every kind once, the rest drawn, shuffled by the seed; three kills and two simulator restarts at least. */
function schedule(random: () => number): Kind[] {
  const kinds: Kind[] = [...EVERY_KIND, 'kill', 'kill', 'restart-sims', 'restore'];
  while (kinds.length < BATCHES) kinds.push(EVERY_KIND[Math.floor(random() * EVERY_KIND.length)]!);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds;
}

describe('fault campaign: 10,000 transactions through a faulty network, faulty upstreams and a killed agent', () => {
  let rig: SyncRig;
  let configPath: string;
  let endpoint: AgentEndpoint;
  let agent: ChildProcess;

  /** A new `kiosk-sync run`, once its endpoint takes a notification (so the next fault meets a running agent). */
  const startAgent = async (): Promise<void> => {
    agent = spawnKioskSync(rig, configPath, ['run']);
    for (const deadline = Date.now() + 60_000; !(await notifyAgent(endpoint)); await sleep(200)) {
      if (Date.now() > deadline || agent.exitCode !== null) throw new Error(`kiosk-sync run did not come up (exit ${agent.exitCode}); see agent.log`);
    }
  };

  beforeAll(async () => {
    rig = await startSyncRig('fault-campaign-', { seed: SEED });
    const port = await freePort();
    configPath = writeRigConfig(rig, { port, pollIntervalMs: 1000, batchSize: 100, concurrency: 8, timeoutMs: 3000 });
    endpoint = { port, tokenFile: join(rig.dir, 'agent.token') };
  });
  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await exited(agent);
    }
    await rig?.close();
  });

  it('delivers every committed outbox row exactly once, in per-stream order, nothing pending, no dead letter', { timeout: 420_000 }, async () => {
    const random = seededRandom(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
    const plan = schedule(random);
    const scheduled: Record<string, number> = {};
    const steps: string[] = [];
    let kills = 0;
    let killedMidBatch = 0;
    let simRestarts = 0;
    const startedAt = Date.now();

    await startAgent();
    for (const [step, kind] of plan.entries()) {
      // The previous step's toxics end (simulator faults are counted: they end when used up, so a duplicate-ack
      // waits for the resends it is meant for); this step's batch is recorded, the agent told, the next fault goes in.
      for (const proxy of rig.proxies.values()) for (const t of proxy.activeToxics()) proxy.removeToxic(t.toxic.name);
      recordSyntheticLoad(rig.store, { count: PER_BATCH, seed: SEED + step, upstreams: LOAD_UPSTREAMS });
      await notifyAgent(endpoint);
      scheduled[kind] = (scheduled[kind] ?? 0) + 1;
      const target = pick(rig.delivering);
      const proxy = rig.proxies.get(target.upstream)!;
      steps.push(['kill', 'restart-sims'].includes(kind) ? kind : `${kind}@${target.upstream}`);
      const toxic = (spec: ToxicSpec): void => void proxy.addToxic(spec);
      const arm = (spec: FaultSpec): void => void target.arm(spec);
      switch (kind) {
        case 'latency':
          toxic({ type: 'latency', attributes: { latency: between(50, 300), jitter: 50 } });
          break;
        case 'bandwidth':
          toxic({ type: 'bandwidth', attributes: { rate: between(20, 100) } });
          break;
        case 'reset_peer':
          toxic({ type: 'reset_peer', toxicity: 0.5, attributes: { timeout: between(200, 1000) } });
          break;
        case 'half-open':
          // No data passes and nothing closes: the agent's per-request deadline (3 s here) has to end it.
          toxic({ type: 'timeout', toxicity: 0.3, attributes: { timeout: 0 } });
          break;
        case 'slicer':
          toxic({ type: 'slicer', stream: pick(['upstream', 'downstream'] as const), attributes: { average_size: between(8, 64), size_variation: 4, delay: 200 } });
          break;
        case 'drop-before-commit':
        case 'reset-mid-response':
          arm({ kind, count: between(3, 12) });
          break;
        case 'drop-after-commit':
          // The resends of what was committed (these, and any batch cut off by a kill or a reset) meet duplicate
          // acknowledgements on every upstream.
          arm({ kind, count: between(3, 12) });
          for (const sim of rig.delivering) sim.arm({ kind: 'duplicate-ack', count: between(2, 6) });
          break;
        case '5xx': {
          const status = pick([500, 502, 503, 504] as const);
          arm({ kind: 'status', status, count: between(5, 20), ...(status === 503 ? { retryAfter: 1 } : {}) });
          break;
        }
        case 'throttle':
          arm({ kind: 'throttle', retryAfter: between(1, 2), count: between(5, 20) });
          break;
        case 'restore':
          target.restoreFromBackup(between(5, 40));
          break;
        case 'kill': {
          // SIGKILL while a batch is claimed and on the wire (in flight in the store), then a new agent.
          for (let i = 0; i < 100 && (Object.values(rig.store.outboxStatus()).every((s) => s.inFlight === 0)); i++) await sleep(50);
          if (Object.values(rig.store.outboxStatus()).some((s) => s.inFlight > 0)) killedMidBatch++;
          agent.kill('SIGKILL');
          await exited(agent);
          kills++;
          await startAgent();
          break;
        }
        case 'restart-sims':
          for (const sim of rig.delivering) await sim.restart();
          simRestarts++;
          break;
      }
      await sleep(STEP_MS);
    }

    // Every fault cleared; the agent keeps running until the store has nothing pending and each upstream holds as
    // many deliveries as the store counts delivered (a restore found late is reconciled and resent first).
    for (const proxy of rig.proxies.values()) for (const t of proxy.activeToxics()) proxy.removeToxic(t.toxic.name);
    for (const sim of rig.delivering) sim.faults.clear();
    const faultsEndedAt = Date.now();
    const settled = (): boolean => {
      const status = rig.store.outboxStatus();
      return rig.delivering.every((sim) => status[sim.upstream]?.pending === 0 && sim.stats().records === status[sim.upstream]?.delivered);
    };
    while (!settled() && Date.now() - faultsEndedAt < 240_000) await sleep(1000);
    const drainedAt = Date.now();
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);

    const ledger = readStoreLedger(rig.storePath);
    const result = checkDeliveries(ledger, Object.fromEntries(rig.delivering.map((sim) => [sim.upstream, sim.records()])));
    const audit = rig.store.verifyAudit();

    const simStats = rig.delivering.map((sim) => sim.stats());
    const injected: Record<string, number> = {};
    for (const s of simStats) for (const [k, n] of Object.entries(s.faults.injected)) injected[k] = (injected[k] ?? 0) + n;
    const toxics: Record<string, number> = {};
    for (const proxy of rig.proxies.values()) for (const [k, n] of Object.entries(proxy.stats().appliedByType)) toxics[k] = (toxics[k] ?? 0) + n;
    const restores = simStats.reduce((n, s) => n + s.restores.count, 0);
    const forgotten = simStats.reduce((n, s) => n + s.restores.forgotten, 0);
    const status = rig.store.outboxStatus();
    const rows: Array<[string, string | number]> = [
      ['storage', rig.tmpfs ? 'tmpfs (/dev/shm)' : 'disk (no /dev/shm)'],
      ['schedule (steps of 3 s)', Object.entries(scheduled).map(([k, n]) => `${k}×${n}`).join(' ')],
      ['proxy toxics applied (connection directions)', Object.entries(toxics).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')],
      ['simulator faults injected (requests)', Object.entries(injected).map(([k, n]) => `${k} ${n}`).join(', ')],
      ['restores from backup / records forgotten', `${restores} / ${forgotten}`],
      ['agent SIGKILLs (with a batch in flight)', `${kills} (${killedMidBatch})`],
      ['simulator restarts (all three)', simRestarts],
      ['transactions', BATCHES * PER_BATCH],
      ['deliveries (outbox rows)', result.deliveries],
      ...LOAD_UPSTREAMS.map((u): [string, string | number] => [`  ${u} delivered / held`, `${status[u]?.delivered ?? 0} / ${rig.delivering.find((s) => s.upstream === u)!.stats().records}`]),
      ['raw requests at the simulators', simStats.reduce((n, s) => n + s.requests, 0)],
      ['duplicates absorbed by dedupe', simStats.reduce((n, s) => n + s.duplicates, 0)],
      ['requeued after restore (late by design)', `${ledger.requeued.size} (${result.requeuedExcluded} held, left out of the order check)`],
      ['pending / dead letters', `${result.pending} / ${result.deadLettered}`],
      ['audit chain', `${audit.ok ? 'verifies' : 'BROKEN'}, ${audit.entries} entries`],
      ['faults phase / drain after faults', `${Math.round((faultsEndedAt - startedAt) / 1000)} s / ${Math.round((drainedAt - faultsEndedAt) / 1000)} s`],
      ['problems', result.problems.length],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(['fault campaign', `steps: ${steps.join(', ')}`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...result.problems.slice(0, 20)].join('\n'));

    expect(result.problems).toEqual([]);
    expect(result.deliveries).toBeGreaterThan(BATCHES * PER_BATCH);
    expect(result.held).toBe(result.deliveries);
    expect(audit).toMatchObject({ ok: true, problems: [] });
    // The schedule did what it says: every kind of fault reached the agent.
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(simRestarts).toBeGreaterThanOrEqual(2);
    expect(restores).toBeGreaterThanOrEqual(2);
    for (const kind of ['drop-before-commit', 'drop-after-commit', 'duplicate-ack', 'status', 'throttle', 'reset-mid-response']) expect(injected[kind], kind).toBeGreaterThan(0);
    for (const type of ['latency', 'bandwidth', 'reset_peer', 'timeout', 'slicer']) expect(toxics[type], type).toBeGreaterThan(0);
  });
});
