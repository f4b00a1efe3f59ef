import { once } from 'node:events';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@kiosk/common';
import { PERSONAS, syncPki, writeSyncPkiFolder, type TlsIdentity } from '@kiosk/fixtures';
import type { TransactionStore } from '@kiosk/store';
import { startAgentEndpoint, type AgentEndpoint } from '../src/agent/endpoint.js';
import { agentMetrics } from '../src/agent/metrics.js';
import { SyncAgent, type AgentHealth } from '../src/agent/sync-agent.js';
import { ClientTlsSource } from '../src/tls/index.js';
import { ScriptedUpstream, stopAgent, submission, tempStore } from './agent-harness.js';

const log = createLogger({ name: 'test', level: 'silent' });
const POLL_NEVER = 600_000;
const pki = syncPki();

/**
 * The Prometheus text exposition format (version 0.0.4), strictly: HELP and TYPE comments, then samples
 * `name{label="value",...} number`. Returns the samples; throws on any line that is neither.
 */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labels = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*",?)*\\}`;
  const sample = new RegExp(`^(${name}(?:${labels})?) (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\\+Inf|-Inf|NaN))$`);
  const comment = new RegExp(`^# (?:HELP ${name} .*|TYPE ${name} (?:counter|gauge|histogram|summary|untyped))$`);
  for (const line of text.split('\n')) {
    if (line === '' || comment.test(line)) continue;
    const m = sample.exec(line);
    if (!m) throw new Error(`not exposition format: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

describe('SyncAgent operations: metrics, health, certificate alerts, logs', () => {
  let env: ReturnType<typeof tempStore>;
  let store: TransactionStore;
  let pkiDir: string;
  let tls: ClientTlsSource;
  let agent: SyncAgent | undefined;
  let endpoint: AgentEndpoint | undefined;
  const install = (identity: TlsIdentity): void => {
    writeFileSync(join(pkiDir, 'client.pem.new'), identity.certificate);
    writeFileSync(join(pkiDir, 'client-key.pem.new'), identity.privateKey, { mode: 0o600 });
    renameSync(join(pkiDir, 'client-key.pem.new'), join(pkiDir, 'client-key.pem'));
    renameSync(join(pkiDir, 'client.pem.new'), join(pkiDir, 'client.pem'));
  };

  beforeEach(async () => {
    env = tempStore('kiosk-agent-ops-');
    store = env.store;
    pkiDir = mkdtempSync(join(tmpdir(), 'kiosk-agent-pki-'));
    await writeSyncPkiFolder(join(pkiDir, 'all'), pki);
    copyFileSync(join(pkiDir, 'all', 'ca.pem'), join(pkiDir, 'ca.pem'));
    install(pki.clients.device);
    tls = new ClientTlsSource({ clientCert: join(pkiDir, 'client.pem'), clientKey: join(pkiDir, 'client-key.pem'), upstreamCa: join(pkiDir, 'ca.pem') }, { debounceMs: 50 });
  });
  afterEach(async () => {
    await stopAgent(agent, endpoint);
    [agent, endpoint] = [undefined, undefined];
    tls.close();
    env.close();
    rmSync(pkiDir, { recursive: true, force: true });
  });

  it('serves Prometheus text whose counters and gauges follow the deliveries', async () => {
    store.recordMany(Array.from({ length: 30 }, (_, i) => submission(i, ['city', 'hospital'])));
    const city = new ScriptedUpstream('city', (d) => (d.aggregate === 'dossier-3' ? { status: 422, error: 'form incomplete' } : { status: 201 }));
    const hospital = new ScriptedUpstream('hospital', () => ({ status: 503 }));
    agent = new SyncAgent({ store, transports: [city, hospital], log, tls, pollIntervalMs: POLL_NEVER });
    endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent, tls), tokenFile: join(env.dir, 'agent.token'), port: 0, log });
    const url = `http://127.0.0.1:${endpoint.port}/metrics`;
    const before = parseExposition(await (await fetch(url)).text());
    expect(before.get('kiosk_sync_pending{upstream="city"}')).toBe(30);
    expect(before.has('kiosk_sync_delivered_total{upstream="city"}')).toBe(false);

    const result = await agent.runOnce(0);
    const res = await fetch(url);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const after = parseExposition(await res.text());
    expect(after.get('kiosk_sync_delivered_total{upstream="city"}')).toBe(29);
    expect(after.get('kiosk_sync_dead_lettered_total{upstream="city"}')).toBe(1);
    // 503 without Retry-After: full-jitter backoff, so some retries come due again within the run.
    expect(after.get('kiosk_sync_retried_total{upstream="hospital"}')).toBe(result.counts.retried);
    expect(result.counts.retried).toBeGreaterThanOrEqual(30);
    expect(after.get('kiosk_sync_pending{upstream="city"}')).toBe(0);
    expect(after.get('kiosk_sync_pending{upstream="hospital"}')).toBe(30);
    expect(after.get('kiosk_sync_oldest_pending_age_seconds{upstream="hospital"}')).toBeGreaterThanOrEqual(0);
    expect(after.get('kiosk_sync_upstream_up{upstream="city"}')).toBe(1);
    expect(after.get('kiosk_sync_client_certificate_expiry_timestamp_seconds')).toBe(pki.clients.device.notAfter.getTime() / 1000);
    expect(after.get('kiosk_sync_round_duration_seconds_count')).toBeGreaterThanOrEqual(2);
  });

  it('stops an upstream that refuses the certificate, reports it degraded, and resumes it when a new certificate is installed', async () => {
    const [recorded] = store.recordMany([submission(0, ['city'])]);
    const renewedSerial = new ClientTlsSource({ clientCert: join(pkiDir, 'all', 'device-renewed.pem'), clientKey: join(pkiDir, 'all', 'device-renewed-key.pem'), upstreamCa: join(pkiDir, 'ca.pem') });
    const wanted = renewedSerial.current().certificate.serialNumber;
    renewedSerial.close();
    // The upstream takes only the renewed certificate, as a server would after revoking the old one.
    const city = new ScriptedUpstream('city', () => (tls.current().certificate.serialNumber === wanted ? { status: 201 } : { status: 401, error: 'certificate revoked' }));
    agent = new SyncAgent({ store, transports: [city], log, tls, pollIntervalMs: POLL_NEVER });
    endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent, tls), tokenFile: join(env.dir, 'agent.token'), port: 0, log });
    const alert = once(agent, 'alert');
    agent.start();
    expect(await alert).toEqual([{ upstream: 'city', reason: 'HTTP 401: certificate revoked' }]);
    const degraded = await fetch(`http://127.0.0.1:${endpoint.port}/health`);
    expect(degraded.status).toBe(503);
    const health = (await degraded.json()) as AgentHealth;
    expect(health).toMatchObject({ status: 'degraded', upstreams: { city: { state: 'stopped', pending: 1 } }, certificate: { notAfter: pki.clients.device.notAfter.toISOString(), error: null } });

    const resumed = once(agent, 'resumed');
    install(pki.clients.renewed);
    expect(await resumed).toEqual([{ upstream: 'city' }]);
    await city.acknowledged((d) => d.transactionId === recorded!.id);
    await once(agent, 'round');
    const ok = await fetch(`http://127.0.0.1:${endpoint.port}/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok', upstreams: { city: { state: 'ok', pending: 0, delivered: 1 } } });
  });

  it('logs no personal data, token or URL query string while deliveries fail with messages that quote them', async () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const loud = createLogger({ name: 'kiosk-sync', level: 'trace', destination: capture });
    const persona = PERSONAS[0]!;
    const quoted = `${persona.fullName} ${persona.idNumber} at https://bhyt.example/check?user=kiosk&password=s3cret`;
    store.recordMany(Array.from({ length: 6 }, (_, i) => submission(0, ['city', 'hospital', 'bhyt'], `dossier-${i}`)));
    const city = new ScriptedUpstream('city', (d) => (d.aggregateSeq % 2 === 0 ? { status: 422, error: quoted } : { status: undefined, error: quoted }));
    const hospital = new ScriptedUpstream('hospital', () => ({ status: 403, error: quoted }));
    const bhyt = new ScriptedUpstream('bhyt');
    bhyt.onSend = () => {
      throw new Error(`transport bug with ${quoted}`);
    };
    agent = new SyncAgent({ store, transports: [city, hospital, bhyt], log: loud, tls, pollIntervalMs: POLL_NEVER });
    endpoint = await startAgentEndpoint({ agent, metrics: agentMetrics(agent, tls), tokenFile: join(env.dir, 'agent.token'), port: 0, log: loud });
    const result = await agent.runOnce(0);
    expect(result.complete).toBe(false);
    await endpoint.close();
    endpoint = undefined;
    const output = lines.join('');
    expect(output).toContain('upstream transport failed');
    expect(output).toContain('upstream refused our credentials');
    for (const secret of [persona.fullName, persona.idNumber, 'password=s3cret', 's3cret', persona.fullName.split(' ').at(-1)!]) expect(output).not.toContain(secret);
  });
});
