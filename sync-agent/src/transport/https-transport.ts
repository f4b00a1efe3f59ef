import type { Agent } from 'node:https';
import { isKioskError, KioskError, type Logger } from '@kiosk/common';
import type { DueDelivery } from '@kiosk/store';
import { z } from 'zod';
import { requestFor, type ContractRequest, type Contracts, type DeliveredUpstream } from '../contracts/index.js';
import type { UpstreamAnswer } from '../delivery-policy.js';
import type { UpstreamTransport } from '../relay/relay.js';
import { classifyTlsError, type ClientTlsSource } from '../tls/index.js';
import { answerViolation, exchange, ExchangeTimeout, joinUrl, redactUrl, shortReason, TlsAgentPool, type Exchanged } from './exchange.js';

export interface UpstreamEndpoint {
  /** Base URL (`sync.upstreams.<name>.url`); contract paths go under its path. */
  url: string;
  /** Per request, connect to last byte (`sync.upstreams.<name>.timeoutMs`). */
  timeoutMs: number;
}

export interface HttpsUpstreamTransportOptions {
  upstream: DeliveredUpstream;
  endpoint: UpstreamEndpoint;
  /** Requests in flight at once over keep-alive connections (`sync.agent.concurrency`). */
  concurrency: number;
  tls: ClientTlsSource;
  contracts: Contracts;
  deviceId: string;
  log: Logger;
}

/** Most idempotency keys one reconciliation request may carry (the endpoint's limit). */
export const CHECK_BATCH_LIMIT = 500;

const CHECK_PATHS: Record<DeliveredUpstream, string> = {
  'city-tthc': '/deliveries/check',
  'population-lgsp': '/deliveries/check',
  'hospital-fhir': '/$check-deliveries',
};

const trackingCode = z.object({ trackingCode: z.string() });
const receiptId = z.object({ receiptId: z.string() });
const transactionResponse = z.object({ entry: z.array(z.object({ response: z.object({ location: z.string().optional() }) })) });

/** The upstream's reference for an acknowledged delivery, from a body the contract already accepted. */
const RECEIPTS: Record<DeliveredUpstream, (body: unknown) => string | undefined> = {
  'city-tthc': (body) => trackingCode.safeParse(body).data?.trackingCode,
  'population-lgsp': (body) => receiptId.safeParse(body).data?.receiptId,
  // The visit's id on the hospital system, without its version: the Encounter entry's location.
  'hospital-fhir': (body) =>
    transactionResponse
      .safeParse(body)
      .data?.entry.map((e) => e.response.location)
      .find((l) => l?.startsWith('Encounter/'))
      ?.replace(/\/_history\/.*$/, ''),
};

const problem = z.object({ code: z.string(), title: z.string().optional(), detail: z.string().optional() });
const operationOutcome = z.object({ issue: z.array(z.object({ code: z.string(), diagnostics: z.string().optional() })).min(1) });

/** The refusal's reason from a problem body (RFC 9457) or FHIR OperationOutcome the contract accepted. */
function refusalReason(body: unknown): string | undefined {
  const p = problem.safeParse(body).data;
  if (p) return shortReason(`${p.code}: ${p.detail ?? p.title ?? ''}`);
  const issue = operationOutcome.safeParse(body).data?.issue[0];
  return issue ? shortReason(`${issue.code}: ${issue.diagnostics ?? ''}`) : undefined;
}

const checkAnswer = z.object({ unknown: z.array(z.string()) });

/**
 * One delivering upstream over HTTPS with mutual TLS: each delivery of a batch is one request built by the
 * contract's adapter and checked against the contract, up to `concurrency` in flight over keep-alive connections,
 * answered in the batch's order. It never throws for a delivery: every failure is an answer the relay's policy
 * settles (retry, dead letter, or stop the upstream).
 */
export class HttpsUpstreamTransport implements UpstreamTransport {
  readonly name: DeliveredUpstream;
  private readonly pool: TlsAgentPool;
  private received: number | undefined;

  constructor(private readonly options: HttpsUpstreamTransportOptions) {
    this.name = options.upstream;
    this.pool = new TlsAgentPool(options.tls, options.concurrency, options.log);
  }

  /**
   * How many distinct deliveries of this device the upstream said it holds (`X-Device-Received`), as of the last
   * batch that carried it: the highest count of that batch, since its answers may arrive out of order.
   */
  reportedReceived(): number | undefined {
    return this.received;
  }

  async send(batch: readonly DueDelivery[]): Promise<UpstreamAnswer[]> {
    let agent: Agent;
    try {
      agent = this.pool.current();
    } catch (err) {
      if (!isKioskError(err)) throw err;
      this.options.log.error({ upstream: this.name, code: err.code }, 'no usable client certificate: nothing sent');
      return batch.map(() => ({ status: undefined, stopCode: err.code, error: err.message }));
    }
    const answers: UpstreamAnswer[] = new Array<UpstreamAnswer>(batch.length);
    const counts: number[] = [];
    let next = 0;
    let stop: UpstreamAnswer | undefined;
    // A pool of `concurrency` workers over the batch; once one finds the upstream refusing us, the rest are not sent.
    const worker = async (): Promise<void> => {
      for (let i = next++; i < batch.length; i = next++) {
        answers[i] = stop ?? (await this.deliver(batch[i]!, agent, counts));
        if (answers[i]!.stopCode !== undefined) stop ??= answers[i];
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, batch.length) }, worker));
    if (counts.length > 0) this.received = Math.max(...counts);
    return answers;
  }

  /** Asks the upstream which of these idempotency keys it does not hold (the reconciliation endpoint). */
  async checkDeliveries(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    if (keys.length > CHECK_BATCH_LIMIT) throw new RangeError(`at most ${CHECK_BATCH_LIMIT} keys per check, got ${keys.length}`);
    const request: ContractRequest = { method: 'POST', path: CHECK_PATHS[this.name], headers: { 'content-type': 'application/json', 'x-device-id': this.options.deviceId }, body: { idempotencyKeys: keys } };
    const url = joinUrl(this.options.endpoint.url, request.path);
    const failed = (reason: string, details: Record<string, unknown>, cause?: unknown): KioskError =>
      new KioskError('SYNC_RECONCILE_FAILED', `${this.name} delivery check failed: ${reason}`, { cause, details: { upstream: this.name, url: redactUrl(url), ...details } });
    let answer: Exchanged;
    try {
      answer = await exchange(this.pool.current(), url, request, this.options.endpoint.timeoutMs);
    } catch (err) {
      const tls = classifyTlsError(err);
      throw failed(tls?.message ?? noAnswer(err), tls ? { tls: tls.code } : {}, err);
    }
    if (answer.status !== 200) throw failed(`HTTP ${answer.status}`, { status: answer.status });
    const unknown = checkAnswer.safeParse(answer.body).data?.unknown;
    const asked = new Set(keys);
    if (!unknown || !unknown.every((k) => asked.has(k))) throw failed('the answer is not a list of the keys asked about', { status: 200 });
    return unknown;
  }

  close(): void {
    this.pool.close();
  }

  private async deliver(delivery: DueDelivery, agent: Agent, counts: number[]): Promise<UpstreamAnswer> {
    const { contracts, deviceId, log, endpoint } = this.options;
    let request: ContractRequest;
    try {
      request = requestFor(this.name, delivery, { deviceId });
      contracts.validateRequest(this.name, request);
    } catch (err) {
      if (!isKioskError(err) || err.code !== 'CONTRACT_VIOLATION') throw err;
      log.warn({ upstream: this.name, delivery: delivery.id, pointer: err.details?.pointer }, 'delivery cannot form a request the contract accepts: dead-lettered');
      return { status: undefined, rejectedLocally: true, error: shortReason(err.message) };
    }
    const url = joinUrl(endpoint.url, request.path);
    let answer: Exchanged;
    try {
      answer = await exchange(agent, url, request, endpoint.timeoutMs);
    } catch (err) {
      return this.unanswered(err, url);
    }
    const { status, headers, body } = answer;
    const retryAfter = headers['retry-after'];
    if ((status >= 200 && status < 300) || status === 409) {
      const count = Number(headers['x-device-received']);
      if (headers['x-device-received'] !== undefined && Number.isSafeInteger(count) && count >= 0) counts.push(count);
      return { status, receipt: this.receiptOf(request, answer, url, delivery.id) };
    }
    const checked = this.conforms(request, answer);
    const error = checked ? refusalReason(body) : undefined;
    return { status, retryAfter, error };
  }

  /** A malformed acknowledgement is still an acknowledgement: delivered, without a receipt, and logged. */
  private receiptOf(request: ContractRequest, answer: Exchanged, url: URL, delivery: number): string | undefined {
    if (!this.conforms(request, answer, { url, delivery })) return undefined;
    return RECEIPTS[this.name](answer.body);
  }

  private conforms(request: ContractRequest, answer: Exchanged, warnAbout?: { url: URL; delivery: number }): boolean {
    const violation = answerViolation(this.options.contracts, this.name, request, answer);
    if (violation && warnAbout) {
      this.options.log.warn(
        { upstream: this.name, url: redactUrl(warnAbout.url), delivery: warnAbout.delivery, status: answer.status, pointer: violation.details?.pointer },
        'acknowledgement does not match the contract: counted as delivered, without a receipt',
      );
    }
    return violation === undefined;
  }

  /** No HTTP answer: a refused certificate or an untrusted server stops the upstream; anything else is retried. */
  private unanswered(err: unknown, url: URL): UpstreamAnswer {
    const tls = classifyTlsError(err);
    if (tls && tls.code !== 'SYNC_TLS_FAILED') {
      this.options.log.error({ upstream: this.name, url: redactUrl(url), code: tls.code }, 'TLS refused: the upstream stops');
      return { status: undefined, stopCode: tls.code, error: shortReason(tls.message) };
    }
    return { status: undefined, error: tls ? `${tls.code}: ${shortReason(tls.message)}` : noAnswer(err) };
  }
}

/** Why no answer came, without anything the error may quote of the request. */
function noAnswer(err: unknown): string {
  if (err instanceof ExchangeTimeout) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'the connection failed';
}
