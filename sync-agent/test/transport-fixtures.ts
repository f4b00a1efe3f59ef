import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@kiosk/common';
import { sampleDeliveries, syncPki, writeSyncPkiFolder, type SampleUpstream } from '@kiosk/fixtures';
import { TransactionStore, type JsonValue, type NewTransaction } from '@kiosk/store';
import { Contracts, type DeliveredUpstream } from '../src/contracts/index.js';
import { ClientTlsSource } from '../src/tls/index.js';
import { HttpsUpstreamTransport } from '../src/transport/index.js';
import type { ContractServer } from './contract-server.js';

/** What the transport tests share: the sync PKI on disk, the contracts, a real store, a log that can be read. */

export const pki = syncPki();

export async function pkiFolder(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sync-transport-'));
  await writeSyncPkiFolder(dir, pki);
  return dir;
}

/** A client certificate set in its own folder of `dir`: the PEM pair `stem` of the PKI folder, and the pinned CA. */
export function tlsSource(dir: string, stem = 'device'): { source: ClientTlsSource; folder: string } {
  const folder = mkdtempSync(join(dir, 'client-'));
  copyFileSync(join(dir, 'ca.pem'), join(folder, 'ca.pem'));
  installClientCert(dir, stem, folder);
  const source = new ClientTlsSource({ clientCert: join(folder, 'device.pem'), clientKey: join(folder, 'device-key.pem'), upstreamCa: join(folder, 'ca.pem') }, { debounceMs: 50 });
  return { source, folder };
}

/** Copies the PEM pair `stem` over the client certificate files in `folder` (what a renewal does). */
export function installClientCert(dir: string, stem: string, folder: string): void {
  copyFileSync(join(dir, `${stem}-key.pem`), join(folder, 'device-key.pem'));
  copyFileSync(join(dir, `${stem}.pem`), join(folder, 'device.pem'));
}

let contracts: Promise<Contracts> | undefined;
export const loadContracts = (): Promise<Contracts> => (contracts ??= Contracts.load());

/** A pino logger whose lines the test reads back. */
export function capturedLog(): { log: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const written: string[] = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: { write: (line: string) => void written.push(line) } });
  return { log, lines: () => written.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => written.join('') };
}

export function openStore(dir: string, now?: () => number): TransactionStore {
  return TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem'), ...(now ? { now } : {}) });
}

const SAMPLES = sampleDeliveries();

/** A recorded transaction with one delivery to `upstream`, its payload a contract sample (synthetic persona `n`). */
export function sampleTransaction(upstream: SampleUpstream, n: number, payload?: Record<string, JsonValue>): NewTransaction {
  const samples = SAMPLES.filter((s) => s.upstream === upstream);
  const sample = samples[n % samples.length]!;
  return { kind: 'public-service-submission', status: 'completed', verdict: { chip: 'genuine' }, deliveries: [{ upstream, aggregate: `citizen-${n}`, payload: payload ?? sample.payload }] };
}

export function transportFor(server: ContractServer, upstream: DeliveredUpstream, tls: ClientTlsSource, log: Logger, extra: { concurrency?: number; timeoutMs?: number; host?: string; contracts: Contracts }): HttpsUpstreamTransport {
  return new HttpsUpstreamTransport({
    upstream,
    endpoint: { url: server.url(extra.host), timeoutMs: extra.timeoutMs ?? 5000 },
    concurrency: extra.concurrency ?? 4,
    tls,
    contracts: extra.contracts,
    deviceId: pki.deviceId,
    log,
  });
}

export interface SharedClient {
  dir: string;
  contracts: Contracts;
  source: ClientTlsSource;
}

/** Registers the file's hooks: the PKI folder, the contracts and the device's client certificate, shared by its tests. */
export function sharedClient(): SharedClient {
  const shared = {} as SharedClient;
  beforeAll(async () => {
    shared.dir = await pkiFolder();
    shared.contracts = await loadContracts();
    shared.source = tlsSource(shared.dir).source;
  });
  afterAll(() => {
    shared.source.close();
    rmSync(shared.dir, { recursive: true, force: true });
  });
  return shared;
}
