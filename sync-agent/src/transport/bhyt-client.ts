import { KioskError, type ErrorCode, type Logger } from '@kiosk/common';
import { bhytLookupRequest, type BhytLookup, type Contracts } from '../contracts/index.js';
import { classifyTlsError, type ClientTlsSource } from '../tls/index.js';
import { answerViolation, exchange, ExchangeTimeout, joinUrl, redactUrl, shortReason, TlsAgentPool, type Exchanged } from './exchange.js';
import type { UpstreamEndpoint } from './https-transport.js';

/** The card's state as the insurer holds it (bhyt-check contract, `CardStatus`). */
export interface BhytCardStatus {
  result: 'valid' | 'expired' | 'not-found' | 'details-mismatch' | 'suspended';
  /** The insurer's own result code (maKetQua), for the staff. */
  resultCode: string;
  card?: { number: string; validFrom: string; validTo: string; facilityCode: string };
  /** The insurer's clock. */
  checkedAt: string;
}

export interface BhytClientOptions {
  /** `sync.upstreams['bhyt-check']`: a short timeout, the citizen is waiting. */
  endpoint: UpstreamEndpoint;
  tls: ClientTlsSource;
  contracts: Contracts;
  deviceId: string;
  log: Logger;
}

/**
 * The live BHYT card lookup the hospital flow calls while the citizen waits: one request, a short deadline, and a
 * typed error for each way it fails (SYNC_LOOKUP_TIMEOUT, _UNREACHABLE, _REFUSED, _MALFORMED). The real gateway
 * takes credentials in its query string (configured in the base URL), so the URL is only ever logged redacted, and
 * the card number and holder never reach a log or an error message.
 */
export class BhytClient {
  private readonly pool: TlsAgentPool;

  constructor(private readonly options: BhytClientOptions) {
    this.pool = new TlsAgentPool(options.tls, 2, options.log);
  }

  /** Bad input is CONTRACT_VIOLATION before anything is sent. */
  async lookup(input: BhytLookup): Promise<BhytCardStatus> {
    const { contracts, deviceId, endpoint } = this.options;
    const request = bhytLookupRequest(input, { deviceId });
    contracts.validateRequest('bhyt-check', request);
    const url = joinUrl(endpoint.url, request.path);
    const fail = (code: ErrorCode, message: string, details: Record<string, unknown>, cause?: unknown): KioskError => {
      const error = new KioskError(code, message, { cause, details });
      this.options.log.warn({ upstream: 'bhyt-check', url: redactUrl(url), code, ...details }, 'BHYT card lookup failed');
      return error;
    };
    let answer: Exchanged;
    try {
      answer = await exchange(this.pool.current(), url, request, endpoint.timeoutMs);
    } catch (err) {
      if (err instanceof ExchangeTimeout) throw fail('SYNC_LOOKUP_TIMEOUT', `the BHYT gateway gave no answer within ${endpoint.timeoutMs} ms`, { timeoutMs: endpoint.timeoutMs }, err);
      const tls = classifyTlsError(err);
      if (tls) throw fail('SYNC_LOOKUP_REFUSED', `the BHYT lookup was refused at the TLS level: ${tls.message}`, { tls: tls.code }, err);
      const reason = (err as NodeJS.ErrnoException).code ?? 'the connection failed';
      throw fail('SYNC_LOOKUP_UNREACHABLE', `the BHYT gateway cannot be reached (${reason})`, { reason }, err);
    }
    const violation = answerViolation(contracts, 'bhyt-check', request, answer);
    const pointer = violation?.details?.pointer;
    if (violation && (answer.status === 200 || pointer === '/status')) {
      throw fail('SYNC_LOOKUP_MALFORMED', `the BHYT gateway's answer does not match the contract at ${String(pointer)}`, { status: answer.status, pointer }, violation);
    }
    if (answer.status !== 200) {
      const code = (answer.body as { code?: unknown } | undefined)?.code;
      const reason = typeof code === 'string' ? shortReason(code, 64) : undefined;
      throw fail('SYNC_LOOKUP_REFUSED', `the BHYT gateway refused the lookup: HTTP ${answer.status}${reason ? ` ${reason}` : ''}`, {
        status: answer.status,
        ...(reason ? { reason } : {}),
        ...(answer.headers['retry-after'] ? { retryAfter: shortReason(answer.headers['retry-after'], 64) } : {}),
      });
    }
    return answer.body as BhytCardStatus;
  }

  close(): void {
    this.pool.close();
  }
}
