import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@kiosk/common';
import { PERSONAS, syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { TransactionStore } from '@kiosk/store';
import { startAgentEndpoint, type AgentEndpoint } from '../src/agent/endpoint.js';
import { agentMetrics } from '../src/agent/metrics.js';
import { SyncAgent } from '../src/agent/sync-agent.js';
import { ScriptedUpstream, submission } from './agent-harness.js';

// The operator commands as spawned processes, against a real store and certificate files in a temporary folder,
// with and without a running agent (the agent here runs in the test process on 127.0.0.1, port 0).

const execFileP = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/kiosk-sync.js', import.meta.url));
const log = createLogger({ name: 'test', level: 'silent' });
const persona = PERSONAS[0]!;

describe('kiosk-sync status, dead-letters, retry', () => {
  let dir: string;
  let store: TransactionStore;
  let deadIds: number[];
  const configFile = (port: number): string => {
    const path = join(dir, `kiosk.config.${port}.json`);
    const config = {
      store: { path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') },
      sync: { clientCert: join(dir, 'pki', 'device.pem'), clientKey: join(dir, 'pki', 'device-key.pem'), upstreamCa: join(dir, 'pki', 'ca.pem'), agent: { port, tokenFile: join(dir, 'agent.token') } },
      log: { level: 'silent' },
    };
    writeFileSync(path, JSON.stringify(config));
    return path;
  };
  const cli = async (port: number, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [bin, ...args], { env: { ...process.env, KIOSK_CONFIG: configFile(port) } });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-sync-cli-'));
    await writeSyncPkiFolder(join(dir, 'pki'), syncPki());
    store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    store.recordMany(Array.from({ length: 5 }, (_, i) => submission(i, ['city', 'hospital'])));
    // Two dead letters whose upstream reasons quote an ID number and a URL with credentials.
    deadIds = store.claimDue({ upstream: 'hospital', limit: 2 }).map((d) => {
      store.markDeadLetter(d.id, `HTTP 422: patient ${persona.idNumber} unknown at https://his.example/fhir?token=abc`);
      return d.id;
    });
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status without a running agent reads the store and the certificate files, and says so', async () => {
    const json = await cli(1, 'status', '--json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      source: 'store',
      upstreams: { city: { pending: 5, inFlight: 0, delivered: 0, deadLettered: 0 }, hospital: { pending: 3, deadLettered: 2 } },
      certificate: { notAfter: syncPki().clients.device.notAfter.toISOString(), error: null },
    });
    const text = await cli(1, 'status');
    expect(text.stdout).toContain('agent not running');
    expect(text.stdout).toMatch(/city\s+pending 5/);
  });

  it('dead-letters lists ids, keys and masked reasons, never payloads or ID numbers', async () => {
    const json = await cli(1, 'dead-letters', '--json', '--upstream', 'hospital');
    expect(json.code).toBe(0);
    const letters = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(letters.map((l) => l.id)).toEqual(deadIds);
    expect(letters[0]).not.toHaveProperty('payload');
    expect(letters[0]).toMatchObject({ upstream: 'hospital', retryable: true, lastError: 'HTTP 422: patient [REDACTED] unknown at https://his.example/fhir?[REDACTED]' });
    const text = await cli(1, 'dead-letters', '--limit', '1');
    for (const out of [json.stdout, text.stdout]) {
      expect(out).not.toContain(persona.idNumber);
      expect(out).not.toContain(persona.fullName);
      expect(out).not.toContain('token=abc');
    }
    expect(text.stdout.trim().split('\n')).toHaveLength(1);
    expect((await cli(1, 'dead-letters', '--limit', 'all')).code).toBe(2);
  });

  describe('with the agent running', () => {
    let agent: SyncAgent;
    let endpoint: AgentEndpoint;
    const city = new ScriptedUpstream('city', () => ({ status: 503, retryAfter: '3600' }));
    const hospital = new ScriptedUpstream('hospital', () => ({ status: 503, retryAfter: '3600' }));

    beforeAll(async () => {
      agent = new SyncAgent({ store, transports: [city, hospital], log, pollIntervalMs: 600_000 });
      endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent), tokenFile: join(dir, 'agent.token'), port: 0, log });
      const idle = once(agent, 'idle');
      agent.start();
      await idle;
    });
    afterAll(async () => {
      await agent.stop();
      await endpoint.close();
    });

    it('status reads the running agent\'s health', async () => {
      const report = JSON.parse((await cli(endpoint.port, 'status', '--json')).stdout) as Record<string, unknown>;
      expect(report).toMatchObject({ source: 'agent', status: 'ok', upstreams: { city: { state: 'ok', pending: 5 }, hospital: { state: 'ok', deadLettered: 2 } } });
      expect((await cli(endpoint.port, 'status')).stdout).toContain('agent running: ok');
    });

    it('retry puts a dead letter back and notifies the agent, which sends it at once', async () => {
      hospital.answer = () => ({ status: 201 });
      const woke = once(agent, 'wake');
      const out = await cli(endpoint.port, 'retry', String(deadIds[0]));
      expect(out).toMatchObject({ code: 0 });
      expect(out.stdout).toContain('1 dead letter queued again; agent notified');
      expect(await woke).toEqual([{ reason: 'notify' }]);
      await hospital.acknowledged((d) => d.id === deadIds[0]);
      const all = await cli(endpoint.port, 'retry', '--all', '--upstream', 'hospital');
      expect(all.stdout).toContain('1 dead letter queued again');
      expect((await cli(endpoint.port, 'retry', String(deadIds[0]))).code).toBe(1); // no longer a dead letter
      expect((await cli(endpoint.port, 'retry')).code).toBe(2);
      expect((await cli(endpoint.port, 'retry', '7', '--all')).code).toBe(2);
    });
  });

  it('--help names every command; run --once with nothing due exits 0 at once', async () => {
    const help = await cli(1, '--help');
    for (const command of ['run [--once]', 'status [--json]', 'dead-letters [--json]', 'retry ID | --all', 'policy']) expect(help.stdout).toContain(`kiosk-sync ${command}`);
    for (const command of ['run', 'status', 'dead-letters', 'retry', 'policy']) expect(await cli(1, command, '--help')).toMatchObject({ code: 0, stdout: help.stdout });
    store.db.prepare('UPDATE outbox SET dead_letter = 1 WHERE delivered_at IS NULL').run(); // nothing left to send
    const run = await cli(1, 'run', '--once');
    expect(run).toMatchObject({ code: 0 });
    expect(run.stderr).not.toContain('error');
  });
});
