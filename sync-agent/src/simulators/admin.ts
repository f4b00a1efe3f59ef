import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isKioskError } from '@kiosk/common';
import { fastify, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { UpstreamSimulator } from './simulator.js';

export interface AdminServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

export interface AdminOptions {
  /** Always a loopback address: the admin API changes what the simulators answer. */
  host?: '127.0.0.1' | '::1' | 'localhost';
  port?: number;
  /** The bearer token; a random one when not given. */
  token?: string;
}

const restoreBody = z.strictObject({ records: z.number().int().min(1).max(1_000_000) });

/**
 * The simulators' admin API, plain HTTP on loopback with a bearer token, so a test or a person with the CLI can
 * drive faults from outside the process:
 *   GET    /simulators                  every simulator's URL and stats
 *   GET    /simulators/:upstream         its stats
 *   GET    /simulators/:upstream/records what arrived (key, device, stream, seq, arrival order)
 *   POST   /simulators/:upstream/faults  arm a fault (JSON as parseFaultSpec takes it)
 *   DELETE /simulators/:upstream/faults  disarm all
 *   POST   /simulators/:upstream/restore forget the last N records: {"records": N}
 */
export async function startAdmin(simulators: readonly UpstreamSimulator[], options: AdminOptions = {}): Promise<AdminServer> {
  const token = options.token ?? randomBytes(18).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const app: FastifyInstance = fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.addHook('onRequest', async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply.code(401).send({ code: 'UNAUTHORIZED', detail: 'bearer token required' });
    return undefined;
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    if (isKioskError(err)) return reply.code(400).send({ code: err.code, detail: err.message });
    return reply.code(err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 500).send({ code: 'ADMIN_FAILED', detail: err.message });
  });
  const find = (upstream: string): UpstreamSimulator => {
    const sim = simulators.find((s) => s.upstream === upstream);
    if (!sim) throw Object.assign(new Error(`no simulator "${upstream}"`), { statusCode: 404 });
    return sim;
  };
  type Params = { Params: { upstream: string } };
  app.get('/simulators', async () => simulators.map((s) => s.stats()));
  app.get<Params>('/simulators/:upstream', async (request) => find(request.params.upstream).stats());
  app.get<Params>('/simulators/:upstream/records', async (request) => find(request.params.upstream).records());
  app.post<Params>('/simulators/:upstream/faults', async (request, reply) => reply.code(201).send({ armed: find(request.params.upstream).arm(request.body) }));
  app.delete<Params>('/simulators/:upstream/faults', async (request) => {
    find(request.params.upstream).faults.clear();
    return { armed: [] };
  });
  app.post<Params>('/simulators/:upstream/restore', async (request) => {
    const sim = find(request.params.upstream);
    const parsed = restoreBody.safeParse(request.body);
    if (!parsed.success) throw Object.assign(new Error('body must be {"records": N} with N from 1'), { statusCode: 400 });
    return { forgotten: sim.restoreFromBackup(parsed.data.records), records: sim.stats().records };
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `http://${host === '::1' ? '[::1]' : host}:${port}`,
    token,
    stop: async () => {
      await app.close();
    },
  };
}
