import { Agent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { isKioskError, KioskError, REDACTED, scrubText, type Logger } from '@kiosk/common';
import type { ContractRequest, Contracts, UpstreamName } from '../contracts/index.js';
import type { ClientTls, ClientTlsSource } from '../tls/index.js';

/**
 * What the HTTPS transports and the BHYT client share: keep-alive connections built from the client certificate in
 * force, one request/answer exchange with a deadline, and the rules for what of a URL or an answer may be logged.
 */

/** An answer body larger than this is not read: every contract's answers are a few kilobytes. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A URL as it may be logged: scheme, host and path. Userinfo, query and fragment are dropped (the BHYT gateway takes
 * its token and password in the query string); a string that is not a URL is never echoed.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '[not a URL]';
  }
  // Other schemes put their own parts in the path (mailto:user@host?...): none of ours, never echoed.
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return '[not an http(s) URL]';
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/**
 * The URL of a contract path under a configured base: the base's own path is a prefix (`/kiosk/v1` + `/dossiers`),
 * the FHIR base itself is `/`, and the base's query (a gateway's credentials) is kept on the request.
 */
export function joinUrl(base: string, path: string): URL {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = path === '/' ? url.pathname : `${prefix}${path}`;
  url.hash = '';
  return url;
}

/** ID-shaped numbers (CCCD, old CMND, the 13 digits of a BHYT number) never leave in a reason; reasons stay short. */
export function shortReason(text: string, max = 200): string {
  return scrubText(text.replace(/[A-Za-z]{0,2}\d{9,}/g, REDACTED)).replace(/\s+/g, ' ').trim().slice(0, max);
}

/** No complete answer within the deadline (connect to last byte). */
export class ExchangeTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'ExchangeTimeout';
  }
}

export interface Exchanged {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the answer had a JSON body; undefined when it had none or `bodyProblem` says why not. */
  body: unknown;
  bodyProblem?: string;
}

/** Why an answer breaks its contract (CONTRACT_VIOLATION with the pointer), or undefined when it conforms. */
export function answerViolation(contracts: Contracts, upstream: UpstreamName, request: ContractRequest, answer: Exchanged): KioskError | undefined {
  if (answer.bodyProblem) return new KioskError('CONTRACT_VIOLATION', answer.bodyProblem, { details: { pointer: '/body' } });
  try {
    contracts.validateResponse(upstream, request, { status: answer.status, headers: answer.headers, body: answer.body });
    return undefined;
  } catch (err) {
    if (!isKioskError(err)) throw err;
    return err;
  }
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

function parseBody(headers: Record<string, string>, text: string): Pick<Exchanged, 'body' | 'bodyProblem'> {
  if (text.length === 0) return { body: undefined };
  if (!/json/i.test(headers['content-type'] ?? '')) return { body: undefined, bodyProblem: 'the body is not JSON' };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { body: undefined, bodyProblem: 'the body is not valid JSON' };
  }
}

/**
 * One request over `agent`, its JSON body sent as is. Resolves with any HTTP answer; rejects with the socket's own
 * error (network, TLS: for classifyTlsError) or ExchangeTimeout. A connection reset mid-answer rejects, so an
 * answer is only ever a whole one.
 */
export function exchange(agent: Agent, url: URL, request: ContractRequest, timeoutMs: number): Promise<Exchanged> {
  const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...request.headers, accept: 'application/json, application/problem+json, application/fhir+json' };
    if (payload) headers['content-length'] = payload.length;
    const req = httpsRequest(url, { agent, method: request.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        else res.destroy();
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete && size <= MAX_BODY_BYTES) return fail(Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' }));
        clearTimeout(timer);
        const flat = flatHeaders(res.headers);
        const parsed = size > MAX_BODY_BYTES ? { body: undefined, bodyProblem: `the body is larger than ${MAX_BODY_BYTES} bytes` } : parseBody(flat, Buffer.concat(chunks).toString('utf8'));
        resolve({ status: res.statusCode ?? 0, headers: flat, ...parsed });
      });
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new ExchangeTimeout(timeoutMs));
    }, timeoutMs);
    // Whichever of the request and the answer reports the destroyed socket first, a deadline is a timeout.
    function fail(err: Error): void {
      clearTimeout(timer);
      reject(timedOut ? new ExchangeTimeout(timeoutMs) : err);
    }
    req.on('error', fail);
    req.end(payload);
  });
}

/**
 * A keep-alive `https.Agent` built from the client certificate in force. When the certificate is reloaded a new
 * agent takes over, so the next connection presents the new certificate; the old agent's idle sockets are closed
 * at once and its busy ones when their answer is in.
 */
export class TlsAgentPool {
  private agent: Agent | undefined;
  private builtFrom: ClientTls | undefined;
  private readonly onReloaded = (tls: ClientTls): void => void this.agentFor(tls);

  constructor(
    private readonly tls: ClientTlsSource,
    private readonly sockets: number,
    private readonly log: Logger,
  ) {
    tls.on('reloaded', this.onReloaded);
  }

  /** The agent to send with now; throws the typed SYNC_* error when no usable client certificate is loaded. */
  current(): Agent {
    return this.agentFor(this.tls.current());
  }

  close(): void {
    this.tls.off('reloaded', this.onReloaded);
    this.agent?.destroy();
    this.agent = undefined;
  }

  private agentFor(tls: ClientTls): Agent {
    if (this.agent && this.builtFrom === tls) return this.agent;
    const old = this.agent;
    this.agent = new Agent({ ...tls.options, keepAlive: true, maxSockets: this.sockets, maxFreeSockets: this.sockets });
    this.builtFrom = tls;
    if (old) {
      retire(old);
      this.log.info({ serialNumber: tls.certificate.serialNumber }, 'client certificate reloaded: new connections present it');
    }
    return this.agent;
  }
}

/** Closes an agent's idle sockets now and each busy one as it is freed (after its answer). */
function retire(agent: Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  agent.on('free', (socket: Socket) => void socket.destroy());
}
