import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { KioskConfig, Logger } from '@kiosk/common';

/**
 * The kiosk's half of "flush at once": after recording a transaction it tells the sync agent that new outbox rows
 * exist. It lives in the store, next to the outbox it signals about, because the kiosk app may not import the sync
 * agent (docs/ARCHITECTURE.md, Dependency rules). The agent writes a fresh random token to `tokenFile` at each start
 * and answers `POST /notify` on 127.0.0.1 only with it.
 */
export type AgentEndpoint = Pick<KioskConfig['sync']['agent'], 'port' | 'tokenFile'>;

export interface NotifyAgentOptions {
  /** Failures are logged here at debug level (the agent's poll is the backstop). */
  log?: Logger;
  timeoutMs?: number;
}

/**
 * Asks the running agent to flush now. Never throws and never waits long: true when the agent took the notification,
 * false when it is not running, the token is stale or missing, or it did not answer in time (the agent's backstop
 * poll then delivers the rows within `sync.agent.pollIntervalMs`).
 */
export async function notifyAgent(endpoint: AgentEndpoint, options: NotifyAgentOptions = {}): Promise<boolean> {
  try {
    const token = (await readFile(endpoint.tokenFile, 'utf8')).trim();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: endpoint.port, path: '/notify', method: 'POST', headers: { authorization: `Bearer ${token}` }, timeout: options.timeoutMs ?? 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
    if (status === 204) return true;
    options.log?.debug({ status }, 'sync agent refused the notification; its poll will pick the rows up');
    return false;
  } catch (err) {
    options.log?.debug({ error: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'sync agent not notified; its poll will pick the rows up');
    return false;
  }
}
