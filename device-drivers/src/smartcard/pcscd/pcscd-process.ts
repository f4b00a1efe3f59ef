import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KioskError } from '@kiosk/common';
import { VPCD_DEFAULT_PORT } from '../vpcd/vpcd-link.js';
import { VPCD_DRIVER, tcpListeners, vpcdExposed, vpcdLoopbackMissing, vpcdReaderConfig } from './vpcd-loopback.js';

/**
 * Finds or starts pcscd. Only one pcscd can run on a machine, so a running one is reused (and left running);
 * otherwise pcscd is started in the foreground as our child and stopped by PID when we are done.
 */
export const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';
const PCSCD_PID_FILE = '/run/pcscd/pcscd.pid';
const PCSCD_PATHS = ['/usr/sbin/pcscd', '/usr/bin/pcscd', '/usr/local/sbin/pcscd'];

export interface PcscdHandle {
  /** True when we started pcscd and will stop it. */
  readonly owned: boolean;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export function findPcscdBinary(): string | undefined {
  return PCSCD_PATHS.find((p) => existsSync(p));
}

/** Why the PC/SC stack with virtual readers cannot run here, or undefined when it can. */
export function pcscStackMissing(): string | undefined {
  if (!findPcscdBinary()) return 'pcscd is not installed (apt package pcscd; run scripts/setup-system.sh)';
  if (!existsSync(VPCD_DRIVER)) return 'the vsmartcard-vpcd reader driver is not installed (apt package vsmartcard-vpcd)';
  return vpcdLoopbackMissing();
}

/** Whether something answers on pcscd's client socket. */
export function pcscdAnswers(socketPath = PCSCD_SOCKET): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Whether a TCP port is in LISTEN state, read from /proc/net/tcp{,6}. We never probe vpcd's port with a connect:
 * vpcd would take the probe for a card being inserted.
 */
export function tcpPortListening(port: number): boolean {
  return tcpListeners(port).length > 0;
}

/** Refuses a vpcd reachable from other machines: anyone there could put a card into the virtual readers. */
function assertVpcdOnLoopback(ports: number[], whose: string): void {
  const exposed = vpcdExposed(ports);
  if (exposed.length > 0) {
    throw new KioskError('PCSCD_START_FAILED', `${whose} has vsmartcard-vpcd listening beyond loopback (port ${exposed.join(', ')}): run scripts/setup-system.sh (vpcd on 127.0.0.1 only) and restart pcscd`);
  }
}

function pcscdProcessRunning(): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pcscd') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, child?: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) return false;
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export interface EnsurePcscdOptions {
  timeoutMs?: number;
  /** vpcd ports that must be listening before we return (default: the first virtual reader). */
  vpcdPorts?: number[];
}

export async function ensurePcscd(options: EnsurePcscdOptions = {}): Promise<PcscdHandle> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ports = options.vpcdPorts ?? [VPCD_DEFAULT_PORT];
  const vpcdReady = (): boolean => ports.every(tcpPortListening);

  if (await pcscdAnswers()) {
    if (!(await waitFor(vpcdReady, timeoutMs))) {
      throw new KioskError('PCSCD_START_FAILED', `a pcscd is already running but vsmartcard-vpcd is not listening on port(s) ${ports.join(', ')}; stop that pcscd or install vsmartcard-vpcd and restart it`);
    }
    assertVpcdOnLoopback(ports, 'the running pcscd');
    return { owned: false, pid: undefined, stop: () => Promise.resolve() };
  }

  const missing = pcscStackMissing();
  if (missing) throw new KioskError('PCSC_UNAVAILABLE', missing);
  if (pcscdProcessRunning()) {
    throw new KioskError('PCSCD_START_FAILED', `a pcscd process exists but does not answer on ${PCSCD_SOCKET}`);
  }
  // A pcscd killed with SIGKILL leaves its socket and pid file behind, and a new one refuses to start over them.
  for (const stale of [PCSCD_SOCKET, PCSCD_PID_FILE]) rmSync(stale, { force: true });

  // Our own reader configuration (vpcd behind the loopback wrapper), whatever /etc/reader.conf.d holds.
  const configDir = mkdtempSync(join(tmpdir(), 'kiosk-pcscd-'));
  const removeConfig = (): void => rmSync(configDir, { recursive: true, force: true });
  writeFileSync(join(configDir, 'vpcd'), vpcdReaderConfig());
  const child = spawn(findPcscdBinary() as string, ['--foreground', '--error', '--config', configDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const ready = await Promise.race([
    waitFor(async () => (await pcscdAnswers()) && vpcdReady(), timeoutMs, child),
    spawnError.then(() => false),
  ]);
  if (!ready) {
    child.kill('SIGKILL');
    removeConfig();
    throw new KioskError('PCSCD_START_FAILED', `pcscd did not become ready within ${timeoutMs} ms (exit code ${child.exitCode ?? 'none'}): ${output.trim() || 'no output'}`);
  }

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  void exited.then(removeConfig);
  try {
    assertVpcdOnLoopback(ports, 'the pcscd we started');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    owned: true,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
