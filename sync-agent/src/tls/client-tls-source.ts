import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isKioskError, KioskError } from '@kiosk/common';
import { assertCertificateCurrent, loadClientTls, type ClientTls, type ClientTlsFiles } from './client-tls.js';

export interface ClientTlsSourceOptions {
  /** Quiet time after the last file event before re-reading: a renewal writes two or three files. */
  debounceMs?: number;
  /** The clock validity is checked against (tests pass a fixed one). */
  now?: () => Date;
}

interface ClientTlsSourceEvents {
  /** A new, valid certificate set replaced the old one: the next connection presents it. */
  reloaded: [ClientTls];
  /** The files changed but the new set is unusable; the previous set stays in use. */
  'reload-failed': [KioskError];
}

const DEFAULT_DEBOUNCE_MS = 250;

function asKioskError(err: unknown): KioskError {
  return isKioskError(err) ? err : new KioskError('SYNC_TLS_FILE_UNREADABLE', `cannot load the sync mTLS files: ${String(err)}`, { cause: err });
}

/**
 * The client certificate set in force, re-read when its files change. It watches the folders (not the files), so a
 * certificate replaced by rename, as installers and `cp` to a new inode do, is still seen. A bad new set never
 * replaces a working one: the agent keeps delivering with the old certificate and the failure is reported.
 */
export class ClientTlsSource extends EventEmitter<ClientTlsSourceEvents> {
  private tls: ClientTls | undefined;
  private error: KioskError | undefined;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly debounceMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly files: ClientTlsFiles,
    options: ClientTlsSourceOptions = {},
  ) {
    super();
    this.debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.now = options.now ?? (() => new Date());
    // A bad set at start is not fatal: the agent waits for a good one to be installed (issue 14: it resumes then).
    this.reload();
    const names = new Set([files.clientCert, files.clientKey, files.upstreamCa].map((path) => basename(path)));
    for (const folder of new Set([files.clientCert, files.clientKey, files.upstreamCa].map((path) => dirname(resolve(path))))) {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name)) this.schedule();
      });
      // A folder that vanishes stops its watcher; the set in force keeps working.
      watcher.on('error', (err) => this.emit('reload-failed', asKioskError(err)));
      this.watchers.push(watcher);
    }
  }

  /** The set to connect with now; throws the typed error when none is usable (never loaded, or expired since). */
  current(): ClientTls {
    if (!this.tls) throw this.error ?? new KioskError('SYNC_TLS_FILE_UNREADABLE', 'no client certificate loaded');
    assertCertificateCurrent(this.tls.certificate, this.now(), this.files.clientCert);
    return this.tls;
  }

  /** The last load failure, cleared by a successful load. */
  get lastError(): KioskError | undefined {
    return this.error;
  }

  /** Re-reads the files now; true when a new set took over. */
  reload(): boolean {
    try {
      const next = loadClientTls(this.files, this.now());
      this.error = undefined;
      const same = this.tls && this.tls.options.cert === next.options.cert && this.tls.options.key === next.options.key && this.tls.options.ca.join() === next.options.ca.join();
      if (same) return false;
      this.tls = next;
      // Also the first good set after a bad start: that is when a stopped agent resumes.
      this.emit('reloaded', next);
      return true;
    } catch (err) {
      this.error = asKioskError(err);
      this.emit('reload-failed', this.error);
      return false;
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), this.debounceMs);
    this.timer.unref();
  }
}
