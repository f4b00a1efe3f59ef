import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultProxy, LOAD_UPSTREAMS, syncPki, writeSyncPkiFolder, type SyncPki } from '@kiosk/fixtures';
import { TransactionStore } from '@kiosk/store';
import { startSimulators, type UpstreamSimulator } from '../../src/simulators/index.js';
import { simulatorTls } from '../upstream-sim-harness.js';

/**
 * The parts of an end-to-end sync test, all real: a store file, the sync PKI on disk, the upstream simulators
 * in-process (restartable on their ports and databases) and a FaultProxy in front of each delivering upstream, so
 * the agent's TLS goes through the proxy untouched. Files go to /dev/shm when it exists: the simulators commit
 * every record with fsync, and a tmpfs keeps a campaign of thousands of deliveries within CI's minutes.
 */
export interface SyncRig {
  dir: string;
  pki: SyncPki;
  store: TransactionStore;
  storePath: string;
  sims: UpstreamSimulator[];
  /** The delivering upstreams' simulators (city-tthc, population-lgsp, hospital-fhir). */
  delivering: UpstreamSimulator[];
  proxies: Map<string, FaultProxy>;
  tmpfs: boolean;
  close(): Promise<void>;
}

export async function startSyncRig(prefix: string, options: { seed: number; now?: () => number }): Promise<SyncRig> {
  const tmpfs = existsSync('/dev/shm');
  const dir = mkdtempSync(join(tmpfs ? '/dev/shm' : tmpdir(), prefix));
  const pki = syncPki();
  await writeSyncPkiFolder(join(dir, 'pki'), pki);
  const storePath = join(dir, 'store.db');
  const store = TransactionStore.open({ path: storePath, keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem'), ...(options.now ? { now: options.now } : {}) });
  const sims = await startSimulators({ dir, tls: simulatorTls(pki), basePort: 0, seed: options.seed });
  const delivering = sims.filter((s) => (LOAD_UPSTREAMS as readonly string[]).includes(s.upstream));
  const proxies = new Map<string, FaultProxy>();
  for (const sim of delivering) proxies.set(sim.upstream, await FaultProxy.start({ listen: '127.0.0.1:0', upstream: `127.0.0.1:${sim.port}`, seed: `${options.seed}-${sim.upstream}` }));
  return {
    dir,
    pki,
    store,
    storePath,
    sims,
    delivering,
    proxies,
    tmpfs,
    close: async () => {
      for (const proxy of proxies.values()) await proxy.stop();
      for (const sim of sims) await sim.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port free on 127.0.0.1 right now (the agent's endpoint binds a fixed port from its configuration). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface AgentSettings {
  port: number;
  pollIntervalMs?: number;
  batchSize?: number;
  concurrency?: number;
  timeoutMs?: number;
}

/** The device configuration of the rig: the store, the certificate files, upstream URLs at the proxies. */
export function writeRigConfig(rig: SyncRig, agent: AgentSettings): string {
  const pkiDir = join(rig.dir, 'pki');
  const upstreams = Object.fromEntries([...rig.proxies].map(([name, proxy]) => [name, { url: `https://127.0.0.1:${proxy.port}`, timeoutMs: agent.timeoutMs ?? 5000 }]));
  const config = {
    device: { id: rig.pki.deviceId },
    store: { path: rig.storePath, keyFile: join(rig.dir, 'wrap.key'), signingKeyFile: join(rig.dir, 'sign.pem') },
    sync: {
      clientCert: join(pkiDir, 'device.pem'),
      clientKey: join(pkiDir, 'device-key.pem'),
      upstreamCa: join(pkiDir, 'ca.pem'),
      upstreams,
      agent: { port: agent.port, tokenFile: join(rig.dir, 'agent.token'), pollIntervalMs: agent.pollIntervalMs ?? 1000, batchSize: agent.batchSize ?? 50, concurrency: agent.concurrency ?? 8, reconcileIntervalMs: 60_000 },
    },
    log: { level: 'warn' },
  };
  const path = join(rig.dir, 'kiosk.config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

const kioskSync = fileURLToPath(new URL('../../bin/kiosk-sync.js', import.meta.url));

/** `kiosk-sync <args>` as a child process on the rig's configuration; its stderr (pino) is appended to agent.log. */
export function spawnKioskSync(rig: SyncRig, configPath: string, args: readonly string[]): ChildProcess {
  const logFd = openSync(join(rig.dir, 'agent.log'), 'a');
  const child = spawn(process.execPath, [kioskSync, ...args], { env: { ...process.env, KIOSK_CONFIG: configPath }, stdio: ['ignore', 'pipe', logFd] });
  closeSync(logFd);
  return child;
}

/** Resolves with the exit code (or the signal's name) once the child is gone. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}
