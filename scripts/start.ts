// `npm start`: the kiosk with what it talks to. With simulated devices (development, the default) that is the
// upstream simulators (`kiosk-upstream-sim serve`, when sync.upstreams point at this machine) and the sync agent
// (`kiosk-sync run`), each its own process as in production, their logs in files beside the store; then the kiosk
// itself (`kiosk`, arguments passed through) in this terminal. Ctrl-C stops all of them. With real devices only the
// agent is started beside the kiosk: production runs both as systemd units instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type KioskConfig } from '@kiosk/common';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (path: string): string => join(root, path);
const SIMULATED: readonly string[] = ['city-tthc', 'population-lgsp', 'hospital-fhir', 'bhyt-check'];
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The simulators' base port when every upstream is on this machine on consecutive ports (as the defaults are). */
function simulatorBasePort(config: KioskConfig): number | undefined {
  const urls = SIMULATED.map((name) => new URL(config.sync.upstreams[name as keyof KioskConfig['sync']['upstreams']].url));
  const base = Number(urls[0]!.port);
  const consecutive = urls.every((u, i) => LOCAL_HOSTS.has(u.hostname) && Number(u.port) === base + i && (u.pathname === '/' || u.pathname === ''));
  return consecutive && base > 0 ? base : undefined;
}

interface Started {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

function start(name: string, args: string[], log: string | undefined): Started {
  const child = spawn(process.execPath, args, { stdio: log ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: process.env });
  if (log) {
    const file = createWriteStream(log, { flags: 'a', mode: 0o600 });
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  }
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { name, child, exited };
}

/** Resolves once the child printed `pattern` (the simulators print their URLs when they listen), or rejects on its exit. */
function readyWhen(started: Started, pattern: RegExp, log: string): Promise<string> {
  return new Promise((ready, fail) => {
    let seen = '';
    started.child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) ready(seen);
    });
    void started.exited.then((code) => fail(new Error(`${started.name} exited (code ${String(code)}) before it was ready; see ${log}`)));
  });
}

async function main(): Promise<number> {
  const config = loadConfig({ env: process.env });
  const logs = join(dirname(resolve(config.store.path)), 'logs');
  mkdirSync(logs, { recursive: true });
  const helpers: Started[] = [];
  const stopHelpers = async (): Promise<void> => {
    for (const h of helpers.reverse()) if (h.child.exitCode === null) h.child.kill('SIGTERM');
    await Promise.all(helpers.map((h) => h.exited));
  };
  if (process.argv.includes('--help')) {
    process.stdout.write(`npm start [-- KIOSK OPTIONS]: with simulated devices, starts the upstream simulators (when sync.upstreams are
the local defaults) and the sync agent, then the kiosk; their logs go to ${logs}. Ctrl-C stops all.\n\n`);
    return (await start('kiosk', [bin('kiosk-app/bin/kiosk.js'), '--help'], undefined).exited) ?? 1;
  }
  // Ctrl-C reaches the whole process group, so every child stops on its own; a SIGTERM to this process alone is
  // passed to the kiosk, and the helpers are stopped when it has.
  let stopping = false;
  let kiosk: Started | undefined;
  process.on('SIGINT', () => {
    stopping = true;
  });
  process.on('SIGTERM', () => {
    stopping = true;
    kiosk?.child.kill('SIGTERM');
  });
  try {
    const base = config.devices.mode === 'simulated' ? simulatorBasePort(config) : undefined;
    if (base !== undefined) {
      const log = join(logs, 'upstream-sim.log');
      const sim = start('kiosk-upstream-sim', [bin('sync-agent/bin/kiosk-upstream-sim.js'), 'serve', '--pki', dirname(resolve(config.sync.clientCert)), '--dir', join(dirname(resolve(config.store.path)), 'upstream-sim'), '--base-port', String(base)], log);
      helpers.push(sim);
      const printed = await readyWhen(sim, /admin token/, log);
      process.stdout.write(`upstream simulators (log ${log}):\n${printed.split('\n').filter((l) => /^(city|population|hospital|bhyt|admin)/.test(l)).map((l) => `  ${l}`).join('\n')}\n`);
    } else if (config.devices.mode === 'simulated') {
      process.stdout.write('sync.upstreams are not the local defaults: no upstream simulators started\n');
    }
    const agentLog = join(logs, 'sync-agent.log');
    helpers.push(start('kiosk-sync', [bin('sync-agent/bin/kiosk-sync.js'), 'run'], agentLog));
    process.stdout.write(`sync agent: kiosk-sync run (log ${agentLog}; \`npx kiosk-sync status\`)\n`);
    if (stopping) return 130;
    kiosk = start('kiosk', [bin('kiosk-app/bin/kiosk.js'), ...process.argv.slice(2)], undefined);
    // A helper that dies is reported; the kiosk keeps running (it records offline, the agent delivers when back).
    for (const h of helpers) void h.exited.then((code) => !stopping && process.stderr.write(`${h.name} exited (code ${String(code)}); the kiosk goes on recording\n`));
    return (await kiosk.exited) ?? 1;
  } finally {
    await stopHelpers();
  }
}

process.exitCode = await main().catch((err: unknown) => {
  process.stderr.write(`npm start: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
});
