import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KioskError } from '@kiosk/common';

/**
 * The development/CI window shell: Debian Chromium in kiosk app mode (production images use Electron, which
 * cannot be installed here). A fresh profile per launch, so nothing a citizen typed survives a restart.
 */
export function chromiumKioskArgs(url: string, userDataDir: string, runningAsRoot: boolean): string[] {
  return [
    '--kiosk',
    `--app=${url}`,
    `--user-data-dir=${userDataDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--noerrdialogs',
    '--disable-infobars',
    '--disable-session-crashed-bubble',
    '--disable-translate',
    '--disable-features=Translate,TranslateUI',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-pinch',
    '--overscroll-history-navigation=0',
    '--password-store=basic',
    // Chromium refuses to start as root with its sandbox; kiosk images run it as an unprivileged user.
    ...(runningAsRoot ? ['--no-sandbox'] : []),
  ];
}

/** Whether an X11 or Wayland display is set for a window. */
export function displayAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

export interface KioskWindow {
  readonly child: ChildProcess;
  /** Resolves when the browser exits, with its exit code. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function launchChromiumKiosk(options: { executable: string; url: string; env?: NodeJS.ProcessEnv }): KioskWindow {
  try {
    accessSync(options.executable, constants.X_OK);
  } catch {
    throw new KioskError('SHELL_BROWSER_NOT_FOUND', `browser ${options.executable} not found or not executable (apt package chromium; or set ui.browser)`);
  }
  const env = options.env ?? process.env;
  if (!displayAvailable(env)) throw new KioskError('DISPLAY_UNAVAILABLE', 'no DISPLAY or WAYLAND_DISPLAY is set');
  const userDataDir = mkdtempSync(join(tmpdir(), 'kiosk-chromium-'));
  // Its own process group: we stop the browser and every helper process it forked (zygote, renderers, GPU)
  // together, and a terminal's Ctrl-C reaches only us, so shutdown happens in our order.
  const child = spawn(options.executable, chromiumKioskArgs(options.url, userDataDir, process.getuid?.() === 0), {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const groupAlive = (): boolean => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 0);
      return child.pid !== undefined;
    } catch {
      return false;
    }
  };
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  child.stderr?.resume(); // Chromium is chatty on stderr; draining it keeps it from blocking
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      rmSync(userDataDir, { recursive: true, force: true });
      resolve(code);
    });
    child.once('error', () => {
      rmSync(userDataDir, { recursive: true, force: true });
      resolve(null);
    });
  });
  return {
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await exited;
      signalGroup('SIGKILL'); // helpers that outlived the browser process
      // Wait (bounded) until the kernel has removed them, so "stopped" means gone.
      for (let i = 0; i < 60 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 50));
    },
  };
}
