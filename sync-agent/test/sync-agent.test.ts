import { once } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@kiosk/common';
import { notifyAgent, type TransactionStore } from '@kiosk/store';
import { startAgentEndpoint, type AgentEndpoint } from '../src/agent/endpoint.js';
import { agentMetrics } from '../src/agent/metrics.js';
import { SyncAgent } from '../src/agent/sync-agent.js';
import { ScriptedUpstream, stopAgent, submission, tempStore } from './agent-harness.js';

const log = createLogger({ name: 'test', level: 'silent' });
/** Ten minutes: a test that finishes did not wait for the poll. */
const POLL_NEVER = 600_000;

describe('SyncAgent over a real store', () => {
  let env: ReturnType<typeof tempStore>;
  let store: TransactionStore;
  let agent: SyncAgent | undefined;
  let endpoint: AgentEndpoint | undefined;

  beforeEach(() => {
    env = tempStore('kiosk-agent-');
    store = env.store;
  });
  afterEach(async () => {
    await stopAgent(agent, endpoint);
    [agent, endpoint] = [undefined, undefined];
    env.close();
  });

  it('delivers a row recorded while it sleeps as soon as the kiosk notifies it, not at the poll', async () => {
    const city = new ScriptedUpstream('city');
    agent = new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER });
    endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent), tokenFile: join(env.dir, 'agent.token'), port: 0, log });
    const idle = once(agent, 'idle');
    agent.start();
    await idle;
    const [recorded] = store.recordMany([submission(1, ['city'])]);
    const woke = once(agent, 'wake');
    expect(await notifyAgent({ port: endpoint.port, tokenFile: join(env.dir, 'agent.token') })).toBe(true);
    expect(await woke).toEqual([{ reason: 'notify' }]);
    await city.acknowledged((d) => d.transactionId === recorded!.id);
    expect(city.received.map((d) => d.transactionId)).toEqual([recorded!.id]);
  });

  it('a notification that arrives during a round is not lost: the agent goes round again instead of sleeping', async () => {
    const city = new ScriptedUpstream('city');
    agent = new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER });
    store.recordMany([submission(1, ['city'])]);
    let late: string | undefined;
    city.onSend = (_batch, call) => {
      if (call !== 0) return;
      // Recorded after this round's claim: only the notification brings it out before the poll.
      late = store.recordMany([submission(2, ['city'], 'late')])[0]!.id;
      agent!.notify();
    };
    agent.start();
    await city.acknowledged((d) => d.aggregate === 'late');
    expect(city.received.map((d) => d.transactionId)).toContain(late);
  });

  it('sends a row recorded during a 20,000-row backlog drain long before the backlog is through', async () => {
    const backlog = 20_000;
    store.recordMany(Array.from({ length: backlog }, (_, i) => submission(i, ['city'])));
    const city = new ScriptedUpstream('city');
    let fresh: string | undefined;
    city.onSend = (_batch, call) => {
      if (call === 3) fresh = store.recordMany([submission(7, ['city'], 'fresh')])[0]!.id;
    };
    agent = new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER, relay: { batchSize: 50 } });
    agent.start();
    await city.acknowledged((d) => d.aggregate === 'fresh');
    const position = city.received.findIndex((d) => d.transactionId === fresh);
    // Oldest-first alone would send it after all 20,000; alternating rounds send it in the next newest-first round.
    // Recorded during round 4 (a newest-first one); round 5 is oldest-first, round 6 newest-first takes it first.
    expect(position).toBe(5 * 50);
    const done = new Promise<void>((resolve) => agent!.on('idle', () => resolve()));
    await done;
    const status = store.outboxStatus()['city']!;
    expect(status).toMatchObject({ pending: 0, delivered: backlog + 1 });
    expect(new Set(city.received.map((d) => d.idempotencyKey)).size).toBe(backlog + 1);
  }, 120_000);

  it('stopped mid-drain, marks only what was acknowledged; a new agent delivers the rest, nothing lost or doubled', async () => {
    const total = 500;
    store.recordMany(Array.from({ length: total }, (_, i) => submission(i, ['city'])));
    const city = new ScriptedUpstream('city');
    agent = new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER, relay: { batchSize: 50 } });
    const stopped = new Promise<void>((resolve) => {
      city.onSend = (_batch, call) => {
        // Stop while the third batch is on the wire: its answers still come and are marked.
        if (call === 2) resolve(agent!.stop());
      };
    });
    agent.start();
    await stopped;
    expect(city.received).toHaveLength(3 * 50);
    const afterStop = store.outboxStatus()['city']!;
    // The round in flight finished and was marked; nothing else was claimed after stop.
    expect(afterStop.delivered).toBe(city.received.length);
    expect(afterStop.inFlight).toBe(0);
    expect(afterStop.pending).toBe(total - city.received.length);
    const next = new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER, relay: { batchSize: 50 } });
    city.onSend = undefined;
    const result = await next.runOnce(0);
    expect(result.complete).toBe(true);
    expect(store.outboxStatus()['city']).toMatchObject({ pending: 0, delivered: total });
    expect(new Set(city.received.map((d) => d.idempotencyKey)).size).toBe(total);
    expect(city.received).toHaveLength(total);
  });

  it('runOnce waits for a retry due within its bound and ends with a summary when one is due later', async () => {
    store.recordMany([submission(1, ['city']), submission(2, ['city'])]);
    const city = new ScriptedUpstream('city');
    let refusals = 0;
    city.answer = (d) => (d.aggregate === 'dossier-1' && refusals++ === 0 ? { status: 503, retryAfter: '1' } : { status: 201 });
    const waited = await new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER }).runOnce(30_000);
    expect(waited).toMatchObject({ complete: true, remaining: {}, counts: { delivered: 2, retried: 1 } });

    store.recordMany([submission(3, ['city'])]);
    city.answer = () => ({ status: 429, retryAfter: '3600' });
    const gaveUp = await new SyncAgent({ store, transports: [city], log, pollIntervalMs: POLL_NEVER }).runOnce(30_000);
    expect(gaveUp).toMatchObject({ complete: false, remaining: { city: 1 }, stopped: [] });
  });

  it('a notification without the token is refused (401) and does not wake the agent', async () => {
    agent = new SyncAgent({ store, transports: [new ScriptedUpstream('city')], log, pollIntervalMs: POLL_NEVER });
    const tokenFile = join(env.dir, 'sub', 'agent.token');
    endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent), tokenFile, port: 0, log });
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    let woken = 0;
    agent.on('wake', () => woken++);
    const url = `http://127.0.0.1:${endpoint.port}/notify`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    expect((await fetch(url, { method: 'POST', headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401);
    expect((await fetch(url, { method: 'GET' })).status).toBe(404);
    expect(woken).toBe(0);
    expect(await notifyAgent({ port: endpoint.port, tokenFile: join(env.dir, 'missing.token') })).toBe(false);
    expect(await notifyAgent({ port: endpoint.port, tokenFile })).toBe(true);
  });

  it('refuses to bind anything but loopback', async () => {
    agent = new SyncAgent({ store, transports: [], log, pollIntervalMs: POLL_NEVER });
    for (const host of ['0.0.0.0', '192.168.1.10', '::', 'localhost']) {
      await expect(startAgentEndpoint({ agent, metrics: agentMetrics(agent), tokenFile: join(env.dir, 't'), port: 0, host, log })).rejects.toMatchObject({ code: 'SYNC_AGENT_ENDPOINT' });
    }
  });
});
