import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SyncPki, TlsIdentity } from '@kiosk/fixtures';
import type { Contracts, UpstreamName } from '../src/contracts/index.js';

/**
 * A small real HTTPS upstream for the transport tests: mutual TLS with the sync PKI, one delivering contract (its
 * requests validated against the OpenAPI file), durable-enough dedupe by idempotency key, `X-Device-Received`, the
 * reconciliation endpoint, and faults on command. Client certificates are checked by the server itself
 * (`rejectUnauthorized: false`) so a refused one gets a 401 naming why, as the simulators answer.
 */

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The query string, as the gateway saw it (its credentials, for the BHYT tests). */
  query: string;
  /** Serial number (hex) of the client certificate presented. */
  serial: string;
}

/** An answer the fault hook imposes: a status with its headers and body, a reset connection, or no answer at all. */
export type Fault = { status: number; headers?: Record<string, string>; body?: unknown } | 'reset' | 'hang';

export interface ContractServerOptions {
  upstream: UpstreamName;
  contracts: Contracts;
  pki: SyncPki;
  identity?: TlsIdentity;
  /** Path the contract is mounted under (`/kiosk/v1`): requests elsewhere get 404. */
  basePath?: string;
  /** Called for each delivery or lookup; an answer replaces the contract's. */
  fault?: (request: ReceivedRequest, index: number) => Fault | undefined;
  /** Holds answers until this many requests are in flight at once (or 5 s pass): makes concurrency observable. */
  holdUntilInFlight?: number;
  /** Sends `X-Device-Received` on acknowledgements (default true). */
  reportReceived?: boolean;
  /** The body of the acknowledgement, instead of the contract's (for malformed answers). */
  ackBody?: (receipt: string) => unknown;
}

const DELIVERY_PATHS: Partial<Record<UpstreamName, string>> = { 'city-tthc': '/dossiers', 'population-lgsp': '/identity-verifications', 'hospital-fhir': '/', 'bhyt-check': '/insurance-cards/lookup' };
const CHECK_PATHS: Partial<Record<UpstreamName, string>> = { 'city-tthc': '/deliveries/check', 'population-lgsp': '/deliveries/check', 'hospital-fhir': '/$check-deliveries' };

function receiptBody(upstream: UpstreamName, receipt: string): unknown {
  switch (upstream) {
    case 'city-tthc':
      return { trackingCode: receipt, status: 'received', receivedAt: '2026-12-06T02:00:00.000Z' };
    case 'population-lgsp':
      return { receiptId: receipt, recordedAt: '2026-12-06T02:00:00.000Z' };
    case 'hospital-fhir':
      return { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '201 Created', location: 'Patient/p1/_history/1' } }, { response: { status: '201 Created', location: `${receipt}/_history/1` } }] };
    case 'bhyt-check':
      return { result: 'valid', resultCode: '000', checkedAt: '2026-12-06T02:00:00.000Z' };
  }
}

export class ContractServer {
  /** Idempotency key -> receipt, as the upstream holds them. */
  readonly held = new Map<string, string>();
  readonly received: ReceivedRequest[] = [];
  maxInFlight = 0;
  /** TLS connections accepted: keep-alive reuse keeps this at or below the client's concurrency. */
  connections = 0;
  /** TLS connections open now. */
  open = 0;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private server!: Server;
  port = 0;

  constructor(private readonly options: ContractServerOptions) {}

  static async start(options: ContractServerOptions): Promise<ContractServer> {
    const server = new ContractServer(options);
    await server.listen();
    return server;
  }

  /** Base URL as the agent's configuration would give it. */
  url(host = '127.0.0.1', query = ''): string {
    return `https://${host}:${this.port}${this.options.basePath ?? ''}${query}`;
  }

  /** A restore from backup: the upstream forgets these deliveries. */
  forget(keys: Iterable<string>): void {
    for (const key of keys) this.held.delete(key);
  }

  deliveries(): ReceivedRequest[] {
    return this.received.filter((r) => r.path === DELIVERY_PATHS[this.options.upstream]);
  }

  async close(): Promise<void> {
    for (const release of this.waiting.splice(0)) release();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private async listen(): Promise<void> {
    const { pki, identity } = this.options;
    this.server = createServer(
      { cert: (identity ?? pki.servers.server).certificate, key: (identity ?? pki.servers.server).privateKey, ca: [pki.deviceCa.certificate], crl: [pki.deviceCrl], requestCert: true, rejectUnauthorized: false },
      (req, res) => void this.handle(req, res),
    );
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.connections += 1;
      this.open += 1;
      socket.on('close', () => (this.open -= 1));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const socket = req.socket as TLSSocket;
    const url = new URL(req.url ?? '/', 'https://upstream');
    const base = this.options.basePath ?? '';
    const path = base && url.pathname.startsWith(base) ? url.pathname.slice(base.length) || '/' : url.pathname;
    const request: ReceivedRequest = { method: req.method ?? '', path, headers: req.headers, body: text ? (JSON.parse(text) as unknown) : undefined, query: url.search, serial: socket.getPeerCertificate().serialNumber ?? '' };
    const index = this.received.push(request) - 1;
    const { upstream, contracts } = this.options;
    const fhir = upstream === 'hospital-fhir';
    const problem = (status: number, code: string, detail: string): void =>
      this.send(res, status, { 'content-type': fhir ? 'application/fhir+json' : 'application/problem+json' }, fhir ? { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: code.toLowerCase().replace(/_/g, '-'), diagnostics: detail }] } : { title: detail, status, code, detail });

    if (base && !url.pathname.startsWith(base)) return problem(404, 'NOT_FOUND', 'no such path');
    if (!socket.authorized) return problem(401, 'CLIENT_CERT_REFUSED', `client certificate refused: ${String(socket.authorizationError)}`);
    if (path === CHECK_PATHS[upstream]) {
      const keys = (request.body as { idempotencyKeys: string[] }).idempotencyKeys;
      return this.send(res, 200, { 'content-type': 'application/json' }, { unknown: keys.filter((k) => !this.held.has(k)) });
    }
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.hold();
      const fault = this.options.fault?.(request, index);
      if (fault === 'reset') return void socket.destroy();
      if (fault === 'hang') return;
      if (fault) return this.send(res, fault.status, { 'content-type': fhir ? 'application/fhir+json' : 'application/problem+json', ...fault.headers }, fault.body);
      try {
        contracts.validateRequest(upstream, { method: request.method, path, headers: req.headers as Record<string, string>, body: request.body });
      } catch (err) {
        return problem(400, 'INVALID', (err as Error).message);
      }
      if (upstream === 'bhyt-check') return this.send(res, 200, { 'content-type': 'application/json' }, receiptBody(upstream, ''));
      const key = String(req.headers['idempotency-key']);
      const replayed = this.held.get(key);
      const receipt = replayed ?? (fhir ? `Encounter/e${this.held.size + 1}` : `${upstream === 'city-tthc' ? 'TC' : 'LGSP'}-${String(this.held.size + 1).padStart(6, '0')}`);
      this.held.set(key, receipt);
      const headers: Record<string, string> = { 'content-type': fhir ? 'application/fhir+json' : 'application/json', ...(replayed ? { 'idempotent-replayed': 'true' } : {}) };
      if (this.options.reportReceived !== false) headers['x-device-received'] = String(this.held.size);
      this.send(res, fhir ? 200 : 201, headers, this.options.ackBody ? this.options.ackBody(receipt) : receiptBody(upstream, receipt));
    } finally {
      this.inFlight -= 1;
    }
  }

  private hold(): Promise<void> {
    const until = this.options.holdUntilInFlight;
    if (until === undefined) return Promise.resolve();
    if (this.inFlight >= until) {
      for (const release of this.waiting.splice(0)) release();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      // A client that never has that many in flight still gets its answers, and the test sees the maximum it reached.
      setTimeout(resolve, 5000).unref();
    });
  }

  private send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
    res.writeHead(status, headers);
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }
}
