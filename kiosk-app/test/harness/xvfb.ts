import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A virtual X display as a child process we own (stopped by PID); `-displayfd` lets Xvfb pick a free display. */
export interface XvfbDisplay {
  display: string;
  stop(): Promise<void>;
}

export const XVFB = '/usr/bin/Xvfb';

export function xvfbMissing(): string | undefined {
  return existsSync(XVFB) ? undefined : 'Xvfb is not installed (apt package xvfb; run scripts/setup-system.sh)';
}

export function startXvfb(size = '1280x800x24', timeoutMs = 10_000): Promise<XvfbDisplay> {
  return new Promise((resolve, reject) => {
    const child = spawn(XVFB, ['-displayfd', '3', '-screen', '0', size, '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Xvfb did not report a display within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    let out = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => {
      out += c.toString();
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      resolve({
        display: `:${out.trim()}`,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
