import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { KioskError, type Logger } from '@kiosk/common';
import type { AgentMetrics } from './metrics.js';
import type { SyncAgent } from './sync-agent.js';

export interface AgentEndpointOptions {
  agent: SyncAgent;
  metrics: AgentMetrics;
  /** Where the per-start notify token is written (mode 0600), for the kiosk to present. */
  tokenFile: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Loopback only: anything else is refused. */
  host?: string;
  log: Logger;
}

export interface AgentEndpoint {
  port: number;
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** Hash both sides first: timingSafeEqual needs equal lengths, and the length must not leak either. */
function sameToken(presented: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Written under a temporary name with mode 0600, then renamed: the kiosk never reads half a token or a readable one. */
function writeToken(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

/**
 * The agent's local endpoint on 127.0.0.1: `GET /health` (JSON, 200 ok / 503 degraded), `GET /metrics` (Prometheus
 * text) and `POST /notify` (bearer token from `tokenFile`, fresh at every start). Nothing here reveals a payload.
 */
export async function startAgentEndpoint(options: AgentEndpointOptions): Promise<AgentEndpoint> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new KioskError('SYNC_AGENT_ENDPOINT', `the agent endpoint binds loopback only, not ${host}`, { details: { host } });
  const token = randomBytes(32).toString('base64url');

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      const health = options.agent.health();
      return send(res, health.status === 'ok' ? 200 : 503, 'application/json', JSON.stringify(health));
    }
    if (req.method === 'GET' && path === '/metrics') return send(res, 200, options.metrics.contentType, await options.metrics.render());
    if (req.method === 'POST' && path === '/notify') {
      const presented = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (presented === undefined || !sameToken(presented, token)) {
        res.setHeader('www-authenticate', 'Bearer');
        return send(res, 401, 'application/json', '{"error":"a valid bearer token is required"}');
      }
      options.agent.notify();
      res.writeHead(204).end();
      return;
    }
    send(res, 404, 'application/json', '{"error":"not found"}');
  };

  const server: Server = createServer((req, res) => {
    req.resume();
    handle(req, res).catch((err: unknown) => {
      options.log.error({ error: err instanceof Error ? err.name : typeof err }, 'agent endpoint request failed');
      if (!res.headersSent) send(res, 500, 'application/json', '{"error":"internal"}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new KioskError('SYNC_AGENT_ENDPOINT', `cannot listen on ${host}:${options.port} (${err.code ?? err.message})`, { cause: err })));
    server.listen(options.port, host, resolve);
  });
  writeToken(options.tokenFile, token);
  const port = (server.address() as AddressInfo).port;
  options.log.info({ host, port }, 'agent endpoint listening (health, metrics, notify)');
  return {
    port,
    close: async () => {
      // A stale token would only earn the kiosk a 401; removing it says plainly that no agent listens.
      rmSync(options.tokenFile, { force: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
