import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { isKioskError, type Logger } from '@kiosk/common';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Contracts, isDeliveredUpstream, UPSTREAMS, type ContractRequest, type UpstreamName } from '../contracts/index.js';
import { FaultPlan, type FaultSpec } from './faults.js';
import { SimulatorDb, type DeliveryRecord, type StoredDelivery } from './sim-db.js';
import { ACCEPT, BusinessRuleError, type Acceptance, bhytAnswer, dossierStatus, DEFAULT_BHYT_CARDS, type BhytCard } from './upstreams.js';

/** PEM material of a simulator's TLS: its server certificate, and the device CA it verifies client certificates with. */
export interface SimulatorTls {
  cert: string;
  key: string;
  /** The device CA: only client certificates it issued are accepted. */
  clientCa: string;
  /** The device CA's CRL: a revoked client certificate is refused (403). */
  crl?: string;
}

export interface SimulatorOptions {
  upstream: UpstreamName;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  tls: SimulatorTls;
  /** The simulator's own SQLite file. */
  dbPath: string;
  /** Seed of the PRNG that draws probabilistic faults. */
  seed?: number;
  /** The BHYT simulator's card table (default: DEFAULT_BHYT_CARDS). */
  bhytCards?: readonly BhytCard[];
  /** Contracts already loaded (they take a moment to compile); loaded from sync-agent/contracts otherwise. */
  contracts?: Contracts;
  log?: Logger;
}

export interface SimulatorStats {
  upstream: UpstreamName;
  url: string;
  requests: number;
  /** Repeats of a held delivery answered from the dedupe table (409, or the original answer under duplicate-ack). */
  duplicates: number;
  records: number;
  devices: Record<string, number>;
  faults: ReturnType<FaultPlan['stats']>;
  restores: { count: number; forgotten: number };
}

const CONTENT = { fhir: 'application/fhir+json', problem: 'application/problem+json', json: 'application/json' } as const;

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

/** The contract's error shape: RFC 9457 problem details, or a FHIR OperationOutcome for the hospital. */
function problem(upstream: UpstreamName, status: number, code: string, detail: string, field?: string, headers?: Record<string, string>): Answer {
  if (upstream === 'hospital-fhir') {
    const issueCode = status === 401 || status === 403 ? 'security' : status === 429 ? 'throttled' : status >= 500 ? 'transient' : status === 404 ? 'not-found' : 'invalid';
    return { status, contentType: CONTENT.fhir, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: issueCode, diagnostics: `${code}: ${detail}` }] }, ...(headers ? { headers } : {}) };
  }
  return { status, contentType: CONTENT.problem, body: { type: 'about:blank', title: code.toLowerCase().replace(/_/g, ' '), status, code, detail, ...(field ? { field } : {}) }, ...(headers ? { headers } : {}) };
}

/** Canonical JSON (keys sorted): the body hash must not depend on the order a client wrote the keys in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The client certificate's subject CN, read once per connection (keep-alive connections carry many requests). */
const subjects = new WeakMap<TLSSocket, string | string[] | undefined>();
function peerSubject(socket: TLSSocket): string | string[] | undefined {
  if (!subjects.has(socket)) subjects.set(socket, socket.getPeerCertificate().subject?.CN);
  return subjects.get(socket);
}

const bodyHash = (body: unknown): string => createHash('sha256').update(canonical(body)).digest('hex');

/**
 * One upstream system, simulated: a fastify server over HTTPS with real mTLS, speaking one contract of
 * sync-agent/contracts, recording what it accepts in its own SQLite file, and misbehaving on command.
 */
export class UpstreamSimulator {
  readonly faults: FaultPlan;
  private app: FastifyInstance | undefined;
  private db: SimulatorDb | undefined;
  private requests = 0;
  private duplicates = 0;
  private readonly restores = { count: 0, forgotten: 0 };
  private boundPort = 0;

  private constructor(private readonly options: SimulatorOptions, private readonly contracts: Contracts) {
    this.faults = new FaultPlan(options.seed);
  }

  static async start(options: SimulatorOptions): Promise<UpstreamSimulator> {
    const sim = new UpstreamSimulator(options, options.contracts ?? (await Contracts.load()));
    await sim.listen(options.port ?? 0);
    return sim;
  }

  get upstream(): UpstreamName {
    return this.options.upstream;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `https://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  private get store(): SimulatorDb {
    if (!this.db) throw new Error(`${this.upstream} simulator is stopped`);
    return this.db;
  }

  private async listen(port: number): Promise<void> {
    this.db = new SimulatorDb(this.options.dbPath);
    const { tls } = this.options;
    const app = fastify({
      logger: false,
      https: { cert: tls.cert, key: tls.key, ca: [tls.clientCa], ...(tls.crl ? { crl: [tls.crl] } : {}), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      bodyLimit: 1024 * 1024,
    });
    app.addContentTypeParser(CONTENT.fhir, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
    // A node TLS server that rejects a client certificate only resets the connection; answering 401/403 here
    // tells the agent why (docs/sync.md), before any route or body parser runs.
    app.addHook('onRequest', async (request, reply) => {
      this.requests++;
      const refusal = this.refuseClient(request.raw.socket as TLSSocket);
      if (refusal) return this.send(reply, refusal);
      return undefined;
    });
    app.setErrorHandler((err: { statusCode?: number; message: string }, _request, reply) => {
      const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? 400 : 500;
      void this.send(reply, problem(this.upstream, status, status === 400 ? 'MALFORMED' : 'INTERNAL', status === 400 ? 'the request body does not parse or has an unsupported media type' : 'internal error'));
    });
    app.setNotFoundHandler((_request, reply) => {
      void this.send(reply, problem(this.upstream, 404, 'NOT_FOUND', 'no operation of the contract has this method and path'));
    });
    app.all('/*', (request, reply) => this.handle(request, reply));
    await app.listen({ host: this.options.host ?? '127.0.0.1', port });
    this.boundPort = (app.server.address() as { port: number }).port;
    this.app = app;
    this.options.log?.info({ upstream: this.upstream, url: this.url }, 'upstream simulator listening');
  }

  /** 401 without a certificate; 403 for one the device CA did not issue, or expired, not yet valid, revoked. */
  private refuseClient(socket: TLSSocket): Answer | undefined {
    if (socket.authorized) return undefined;
    const peer = socket.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return problem(this.upstream, 401, 'CLIENT_CERT_REQUIRED', 'a client certificate issued by the device CA is required');
    return problem(this.upstream, 403, 'CLIENT_CERT_REFUSED', `client certificate refused: ${String(socket.authorizationError)}`);
  }

  private async send(reply: FastifyReply, answer: Answer): Promise<FastifyReply> {
    return reply
      .code(answer.status)
      .headers({ 'content-type': answer.contentType ?? (this.upstream === 'hospital-fhir' ? CONTENT.fhir : CONTENT.json), ...answer.headers })
      .send(JSON.stringify(answer.body));
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const fault = this.faults.take('arrival');
    if (fault) this.options.log?.info({ upstream: this.upstream, fault: fault.kind }, 'fault injected');
    if (fault?.kind === 'drop-before-commit') return this.destroy(reply);
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (fault?.kind === 'status') return this.send(reply, problem(this.upstream, fault.status, 'UNAVAILABLE', 'simulated failure; nothing was recorded', undefined, fault.retryAfter === undefined ? undefined : { 'retry-after': String(fault.retryAfter) }));
    if (fault?.kind === 'throttle') return this.send(reply, problem(this.upstream, 429, 'THROTTLED', 'too many requests', undefined, { 'retry-after': String(fault.retryAfter) }));

    const answer = await this.answer(request);
    if (fault?.kind === 'drop-after-commit') return this.destroy(reply);
    if (fault?.kind === 'reset-mid-response') return this.cutOff(reply, answer);
    return this.send(reply, answer);
  }

  private destroy(reply: FastifyReply): FastifyReply {
    reply.hijack();
    reply.raw.socket?.destroy();
    return reply;
  }

  /** The status line, the headers and half the body, then the connection is gone: the answer never completes. */
  private cutOff(reply: FastifyReply, answer: Answer): FastifyReply {
    reply.hijack();
    const text = JSON.stringify(answer.body);
    reply.raw.writeHead(answer.status, { 'content-type': answer.contentType ?? CONTENT.json, 'content-length': Buffer.byteLength(text), ...answer.headers });
    reply.raw.write(text.slice(0, Math.floor(text.length / 2)), () => reply.raw.socket?.destroy());
    return reply;
  }

  /** The contract's answer to one request (everything recorded is committed before this returns). */
  private async answer(request: FastifyRequest): Promise<Answer> {
    const headers = Object.fromEntries(Object.entries(request.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const contractRequest: ContractRequest = { method: request.method, path: request.url, headers, ...(request.body === undefined ? {} : { body: request.body }) };
    let operation: string;
    try {
      operation = this.contracts.validateRequest(this.upstream, contractRequest);
    } catch (err) {
      if (!isKioskError(err) || err.code !== 'CONTRACT_VIOLATION') throw err;
      const pointer = String((err.details as { pointer?: string } | undefined)?.pointer ?? '');
      if (pointer === '/path') return problem(this.upstream, 404, 'NOT_FOUND', 'no operation of the contract has this method and path');
      // A body that breaks the contract's schema is unprocessable; a bad header or path parameter is malformed.
      return pointer.startsWith('/body') ? problem(this.upstream, 422, 'CONTRACT_VIOLATION', err.message, pointer) : problem(this.upstream, 400, 'CONTRACT_VIOLATION', err.message, pointer);
    }
    const deviceId = headers['x-device-id'] ?? '';
    const subject = peerSubject(request.raw.socket as TLSSocket);
    if (subject !== deviceId) return problem(this.upstream, 403, 'DEVICE_MISMATCH', 'X-Device-Id is not the subject of the client certificate', '/headers/x-device-id');
    switch (operation) {
      case 'checkDeliveries':
        return this.withCount(deviceId, { status: 200, contentType: CONTENT.json, body: { unknown: this.store.unknownKeys(deviceId, (request.body as { idempotencyKeys: string[] }).idempotencyKeys) } });
      case 'getDossierStatus': {
        const held = this.store.findByRef(decodeURIComponent((request.params as { '*': string })['*'].split('/')[1] ?? ''));
        return held ? { status: 200, body: dossierStatus(held) } : problem(this.upstream, 404, 'UNKNOWN_DOSSIER', 'no dossier has this tracking code', '/path/trackingCode');
      }
      case 'lookupInsuranceCard':
        return { status: 200, body: bhytAnswer(this.options.bhytCards ?? DEFAULT_BHYT_CARDS, request.body as { cardNumber: string; fullName: string; dateOfBirth: string }, new Date()) };
      default:
        return this.deliver(headers, request.body);
    }
  }

  private withCount(deviceId: string, answer: Answer): Answer {
    return { ...answer, headers: { ...answer.headers, 'x-device-received': String(this.store.deviceCount(deviceId)) } };
  }

  /**
   * Durable dedupe by Idempotency-Key: a new delivery is committed, then acknowledged; a repeat gets the original
   * receipt. Deliveries arriving together share one commit (SimulatorDb.transactionGrouped).
   */
  private async deliver(headers: Record<string, string>, body: unknown): Promise<Answer> {
    const upstream = this.upstream;
    if (!isDeliveredUpstream(upstream)) throw new Error(`${upstream} takes no deliveries`);
    const key = headers['idempotency-key'] ?? '';
    const deviceId = headers['x-device-id'] ?? '';
    const hash = bodyHash(body);
    const db = this.store;
    type Outcome = { held: StoredDelivery } | { accepted: Acceptance; arrival: number };
    let outcome: Outcome;
    try {
      outcome = await db.transactionGrouped((): Outcome => {
        const held = db.find(key);
        if (held) return { held };
        const now = new Date();
        const arrival = db.nextArrival();
        const accepted = ACCEPT[upstream]({ db, body, idempotencyKey: key, arrival, now });
        db.insert({ idempotencyKey: key, deviceId, stream: headers['x-device-stream'] ?? '', seq: Number(headers['x-device-seq']), bodyHash: hash, receivedAt: now.toISOString(), status: accepted.status, receipt: accepted.receipt, ref: accepted.ref, meta: accepted.meta });
        return { accepted, arrival };
      });
    } catch (err) {
      // A rule of the upstream refused it: the transaction rolled back, nothing is held.
      if (err instanceof BusinessRuleError) return problem(upstream, 422, 'BUSINESS_RULE', err.message, err.field);
      throw err;
    }
    if ('held' in outcome) {
      const { held } = outcome;
      if (held.deviceId !== deviceId || held.bodyHash !== hash) return problem(upstream, 422, 'IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for another delivery', '/headers/idempotency-key');
      this.duplicates++;
      const duplicateAck = this.faults.take('repeat');
      // The duplicate-ack fault answers a repeat as if it were new: the agent must still count the delivery once.
      return this.withCount(deviceId, duplicateAck ? { status: held.status, body: held.receipt } : { status: 409, body: held.receipt });
    }
    const { accepted, arrival } = outcome;
    this.options.log?.info({ upstream, arrival, deviceId, stream: headers['x-device-stream'], seq: headers['x-device-seq'] }, 'delivery recorded');
    return this.withCount(deviceId, { status: accepted.status, body: accepted.receipt });
  }

  /** Everything that arrived and was accepted, in arrival order. */
  records(): DeliveryRecord[] {
    return this.store.records();
  }

  /** "Restored from a backup": forgets the last `n` deliveries (records, dedupe rows, FHIR resources they made). */
  restoreFromBackup(n: number): number {
    const forgotten = this.store.forgetLast(n);
    this.restores.count++;
    this.restores.forgotten += forgotten;
    this.options.log?.info({ upstream: this.upstream, forgotten }, 'restored from backup');
    return forgotten;
  }

  /** FHIR resources held (hospital-fhir only): for conditional-create checks. */
  fhirCounts(): { patients: number; encounters: number } {
    return { patients: this.store.fhirCount('Patient'), encounters: this.store.fhirCount('Encounter') };
  }

  stats(): SimulatorStats {
    return { upstream: this.upstream, url: this.url, requests: this.requests, duplicates: this.duplicates, records: this.store.count(), devices: this.store.deviceCounts(), faults: this.faults.stats(), restores: { ...this.restores } };
  }

  arm(spec: unknown): FaultSpec {
    return this.faults.arm(spec);
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app) {
      app.server.closeAllConnections();
      await app.close();
    }
    this.db?.close();
    this.db = undefined;
  }

  /** Stops and starts again on the same port and database file: what a committed record survives. */
  async restart(): Promise<void> {
    const port = this.boundPort;
    await this.stop();
    await this.listen(port);
  }
}

/** The default ports: city-tthc, population-lgsp, hospital-fhir and bhyt-check on consecutive ports from here. */
export const DEFAULT_BASE_PORT = 7441;

export interface SimulatorsOptions {
  /** The folder of the four SQLite files (`<upstream>.sqlite`). */
  dir: string;
  tls: SimulatorTls;
  host?: string;
  /** 0 picks free ports. */
  basePort?: number;
  seed?: number;
  bhytCards?: readonly BhytCard[];
  log?: Logger;
}

/** All four simulators, on consecutive ports from `basePort` (in UPSTREAMS order), sharing one compiled contract set. */
export async function startSimulators(options: SimulatorsOptions): Promise<UpstreamSimulator[]> {
  const contracts = await Contracts.load();
  const started: UpstreamSimulator[] = [];
  try {
    for (const [i, upstream] of UPSTREAMS.entries()) {
      started.push(
        await UpstreamSimulator.start({
          upstream,
          contracts,
          tls: options.tls,
          dbPath: join(options.dir, `${upstream}.sqlite`),
          port: options.basePort === undefined || options.basePort === 0 ? 0 : options.basePort + i,
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.seed === undefined ? {} : { seed: options.seed + i }),
          ...(options.bhytCards === undefined ? {} : { bhytCards: options.bhytCards }),
          ...(options.log === undefined ? {} : { log: options.log }),
        }),
      );
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
  return started;
}
