import Fastify, { LogController } from 'fastify';
import { z } from 'zod';
import { KioskError, isKioskError, type ErrorCode, type KioskConfig, type Logger } from '@kiosk/common';
import { CAN_PATTERN, type IdentityCheckResponse, type IdentityProgressEvent } from '../shared/identity-api.js';
import { hostAllowed, newApiToken, tokenMatches } from './auth.js';
import type { CardReaderStatus, KioskEvent } from './card-monitor.js';
import type { DossierSubmission } from './dossier-submission.js';
import { SECURITY_HEADERS } from './security-headers.js';
import { loadUiAssets } from './ui-assets.js';
import type { Visit } from './visit.js';

/** What the server needs of the device layer: current state, and events to stream to the UI. */
export interface KioskEventSource {
  status(): CardReaderStatus[];
  on(event: 'event', listener: (event: KioskEvent) => void): unknown;
  off(event: 'event', listener: (event: KioskEvent) => void): unknown;
}

/** The identity check of an inserted card (identity-check.ts), with its progress events. */
export interface IdentityChecker {
  check(can: string): Promise<IdentityCheckResponse>;
  on(event: 'event', listener: (event: IdentityProgressEvent) => void): unknown;
  off(event: 'event', listener: (event: IdentityProgressEvent) => void): unknown;
}

export interface KioskServerOptions {
  config: KioskConfig;
  log: Logger;
  cards: KioskEventSource;
  /** Without one, POST /api/card/read does not exist. */
  identity?: IdentityChecker;
  /** The citizen's visit: POST /api/visit/end (the screen's idle reset) ends it. */
  visit?: Visit;
  /** Where this visit's transactions stand upstream; and, on the public-service profile, POST /api/dossiers. */
  dossiers?: DossierSubmission;
  /** Fixed token for tests; a fresh random one otherwise. */
  token?: string;
}

export interface KioskServer {
  /** Base URL, e.g. http://127.0.0.1:8470/ */
  url: string;
  token: string;
  /** URL the kiosk window opens: the token travels in the fragment, which never reaches a server or a log. */
  launchUrl: string;
  close(): Promise<void>;
}

/** Endpoints reachable without the token: the static UI and the liveness probe. Everything else needs it. */
const PUBLIC_API = new Set(['/api/health']);

/** Typed errors that are not plain bad requests. */
const STATUS_OF: Partial<Record<ErrorCode, number>> = { API_BUSY: 409, API_NOT_FOUND: 404, SUBMISSION_NO_APPLICANT: 409 };

const cardReadBody = z.object({ can: z.string().regex(CAN_PATTERN) }).strict();

function errorBody(err: KioskError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } };
}

export async function startKioskServer(options: KioskServerOptions): Promise<KioskServer> {
  const { config, log, cards } = options;
  const token = options.token ?? newApiToken();
  const assets = await loadUiAssets();
  const app = Fastify({ loggerInstance: log.child({ component: 'api' }), logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 });
  let port = config.service.port;

  app.addHook('onRequest', async (request, reply) => {
    if (!hostAllowed(request.headers.host, port)) {
      return reply.code(403).send(errorBody(new KioskError('API_FORBIDDEN_HOST', 'requests must name the loopback address as Host')));
    }
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/api/') && !PUBLIC_API.has(path) && !tokenMatches(token, request.headers.authorization)) {
      return reply.code(401).send(errorBody(new KioskError('API_UNAUTHORIZED', 'missing or wrong API token')));
    }
    return undefined;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });

  // Per-request lines are off (noise, and URLs are no business of a log); failures are logged here instead.
  app.setErrorHandler(async (err, request, reply) => {
    if (isKioskError(err)) return reply.code(STATUS_OF[err.code] ?? 400).send(errorBody(err));
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) request.log.error({ err, path: request.routeOptions.url }, 'request failed');
    // Fastify's own 4xx (unparsable JSON, wrong content type) are bad requests under our code; a fixed message with
    // Fastify's error code keeps the answer stable and can never quote a body (which may hold a CAN).
    if (status >= 500) return reply.code(status).send({ error: { code: 'INTERNAL', message: 'internal error' } });
    return reply.code(status).send(errorBody(new KioskError('API_BAD_REQUEST', `the request is malformed (${(err as { code?: string }).code ?? `HTTP ${status}`})`)));
  });

  for (const [path, asset] of assets) {
    app.get(path, async (_request, reply) => reply.type(asset.type).send(asset.body));
  }

  app.get('/api/health', async () => ({ status: 'ok' }));
  app.get('/api/session', async () => ({
    device: config.device,
    devices: { mode: config.devices.mode },
    ui: { locale: config.ui.locale, idleResetSeconds: config.ui.idleResetSeconds },
  }));
  app.get('/api/devices', async () => ({ devices: cards.status() }));

  const { identity } = options;
  if (identity) {
    app.post('/api/card/read', async (request) => {
      // The message never echoes the body: it holds the CAN.
      const body = cardReadBody.safeParse(request.body);
      if (!body.success) throw new KioskError('API_BAD_REQUEST', 'the body must be {"can": "<the 6 digits printed on the card front>"}');
      return identity.check(body.data.can);
    });
  }

  const { visit, dossiers } = options;
  if (visit) {
    app.post('/api/visit/end', async (_request, reply) => {
      visit.end();
      return reply.code(204).send();
    });
  }
  if (dossiers) {
    app.get<{ Params: { id: string } }>('/api/transactions/:id/deliveries', async (request) => dossiers.deliveries(request.params.id));
    // An explicit press by the citizen; only the public-service profile offers a dossier (issue 16 adds the catalogue).
    if (config.device.profile === 'public-service') app.post('/api/dossiers', async () => dossiers.submit());
  }

  // Newline-delimited JSON events; the UI reads it with fetch (EventSource cannot send the token header).
  app.get('/api/events', (request, reply) => {
    reply.raw.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/x-ndjson; charset=utf-8' });
    const send = (event: KioskEvent): void => {
      reply.raw.write(`${JSON.stringify(event)}\n`);
    };
    send({ type: 'devices', devices: cards.status() });
    cards.on('event', send);
    identity?.on('event', send);
    request.raw.on('close', () => {
      cards.off('event', send);
      identity?.off('event', send);
    });
    reply.hijack();
  });

  await app.listen({ host: config.service.host, port });
  const address = app.server.address();
  if (address && typeof address === 'object') port = address.port;
  const host = config.service.host === '::1' ? '[::1]' : config.service.host;
  const url = `http://${host}:${port}/`;
  return {
    url,
    token,
    launchUrl: `${url}#token=${token}`,
    close: async () => {
      // Open event streams would keep close() waiting forever.
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
