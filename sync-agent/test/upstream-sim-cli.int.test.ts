import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSONAS, sampleDeliveries, syncPki, writeSyncPkiFolder } from '@kiosk/fixtures';
import { Contracts, requestFor } from '../src/contracts/index.js';
import { FAULT_KINDS } from '../src/simulators/index.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/kiosk-upstream-sim.js', import.meta.url));
const CURL = ['/usr/bin/curl', '/usr/local/bin/curl'].find((path) => existsSync(path));
const pki = syncPki();

// One `kiosk-upstream-sim serve` process for the whole file: curl and the CLI's own commands talk to it.
describe.skipIf(!CURL)('kiosk-upstream-sim serve, with curl as the client (skipped: no curl binary)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'upstream-sim-cli-'));
  let child: ChildProcess;
  const urls = new Map<string, string>();
  let contracts: Contracts;
  let logs = '';
  const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [BIN, ...args])).stdout;

  beforeAll(async () => {
    contracts = await Contracts.load();
    await writeSyncPkiFolder(join(dir, 'pki'), pki);
    child = spawn(process.execPath, [BIN, 'serve', '--pki', join(dir, 'pki'), '--dir', join(dir, 'db'), '--base-port', '0', '--token', 'test-token'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (logs += chunk));
    await new Promise<void>((resolveReady, reject) => {
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('admin token')) resolveReady();
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${out}`)));
    });
    for (const line of out.trim().split('\n')) {
      const [name, url] = line.split(/\s{2,}/);
      if (name && url) urls.set(name, url.replace('127.0.0.1', 'localhost'));
    }
  });
  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function curl(client: string | undefined, url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const certArgs = client === undefined ? [] : ['--cert', join(dir, 'pki', `${client}.pem`), '--key', join(dir, 'pki', `${client}-key.pem`)];
    const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const { stdout } = await run(CURL!, ['-sS', '--max-time', '20', '--cacert', join(dir, 'pki', 'ca.pem'), ...certArgs, ...headerArgs, '--data-binary', JSON.stringify(body), '-w', '\n%{http_code}', url]);
    const lines = stdout.trimEnd().split('\n');
    return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) as unknown };
  }

  it('prints the four simulators and the admin API', () => {
    expect([...urls.keys()]).toEqual(['city-tthc', 'population-lgsp', 'hospital-fhir', 'bhyt-check', 'admin', 'admin token']);
  });

  const delivery = sampleDeliveries().find((d) => d.upstream === 'hospital-fhir')!;
  const req = requestFor('hospital-fhir', delivery, { deviceId: pki.deviceId });

  it('answers curl with the device certificate by the contract, then 409 on the resend', async () => {
    const first = await curl('device', `${urls.get('hospital-fhir')}/`, req.body, req.headers);
    contracts.validateResponse('hospital-fhir', req, { status: first.status, headers: { 'content-type': 'application/fhir+json' }, body: first.body });
    expect(first.status).toBe(200);
    expect((await curl('device', `${urls.get('hospital-fhir')}/`, req.body, req.headers)).status).toBe(409);
  });

  it.each([
    ['device-foreign-ca', 403],
    ['device-expired', 403],
    ['device-revoked', 403],
    [undefined, 401],
  ] as const)('refuses curl with the client certificate %s: %i with an OperationOutcome', async (client, status) => {
    const refused = await curl(client, `${urls.get('hospital-fhir')}/`, req.body, req.headers);
    expect(refused.status).toBe(status);
    expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'security' }] });
  });

  it('the CLI arms a fault through the admin API, and `records` reads what arrived', async () => {
    const admin = urls.get('admin')!.replace('localhost', '127.0.0.1');
    await cli('fault', '--admin', admin, '--token', 'test-token', '--upstream', 'city-tthc', 'status', '--status', '503', '--retry-after', '2');
    const city = requestFor('city-tthc', sampleDeliveries().find((d) => d.upstream === 'city-tthc')!, { deviceId: pki.deviceId });
    expect((await curl('device', `${urls.get('city-tthc')}/dossiers`, city.body, city.headers)).status).toBe(503);
    expect((await curl('device', `${urls.get('city-tthc')}/dossiers`, city.body, city.headers)).status).toBe(201);
    const stats = JSON.parse(await cli('stats', '--admin', admin, '--token', 'test-token', '--upstream', 'city-tthc')) as { records: number; faults: { injected: { status: number } } };
    expect(stats).toMatchObject({ records: 1, faults: { injected: { status: 1 } } });
    const held = JSON.parse(await cli('records', '--db', join(dir, 'db', 'hospital-fhir.sqlite'), '--json')) as unknown[];
    expect(held).toEqual([expect.objectContaining({ arrival: 1, idempotencyKey: delivery.idempotencyKey, deviceId: pki.deviceId, stream: delivery.aggregate, seq: delivery.aggregateSeq })]);
  });

  it('--help lists every command and fault kind; usage errors exit 2', async () => {
    const help = await cli('--help');
    for (const word of ['serve', 'fault', 'stats', 'records', '--pki', '--base-port', ...FAULT_KINDS, 'restore --records N', 'clear']) expect(help).toContain(word);
    await expect(run(process.execPath, [BIN, 'serve'])).rejects.toMatchObject({ code: 2 });
    await expect(run(process.execPath, [BIN, 'fault', '--admin', 'http://127.0.0.1:1', '--token', 't', '--upstream', 'city-tthc', 'explode'])).rejects.toMatchObject({ code: 2 });
    const table = await cli('records', '--db', join(dir, 'db', 'hospital-fhir.sqlite'));
    expect(table).toContain('1 record(s)');
    // Records name keys, devices and streams, never the patient (the Bundle held the persona's CCCD and name).
    expect(table).not.toContain(PERSONAS[0]!.idNumber);
    expect(table).not.toContain(PERSONAS[0]!.fullName);
  });

  it('stops on SIGTERM', async () => {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    // The log told what arrived, without a name or an id number of the personas whose deliveries it took.
    expect(logs).toContain('delivery recorded');
    for (const p of PERSONAS) {
      expect(logs).not.toContain(p.idNumber);
      expect(logs).not.toContain(p.fullName);
    }
  });
});
