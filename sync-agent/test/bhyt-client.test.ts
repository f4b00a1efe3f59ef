import { afterEach, describe, expect, it } from 'vitest';
import { isKioskError, type Logger } from '@kiosk/common';
import { PERSONAS, sampleBhytLookup } from '@kiosk/fixtures';
import type { BhytLookup } from '../src/contracts/index.js';
import { BhytClient } from '../src/transport/index.js';
import { ContractServer, type ContractServerOptions } from './contract-server.js';
import { capturedLog, pki, sharedClient } from './transport-fixtures.js';

// The live BHYT lookup over real mTLS: one typed error per way it fails, and neither the gateway's credentials
// (query string) nor the card number in any log line or error.

const persona = PERSONAS[0]!;
const lookup = sampleBhytLookup(persona) as BhytLookup;
const SECRET = 'SECRET-gw-token-3f9a';
const cleanup: Array<() => unknown> = [];

const shared = sharedClient();
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function gateway(options: Partial<ContractServerOptions> = {}): Promise<ContractServer> {
  const s = await ContractServer.start({ upstream: 'bhyt-check', contracts: shared.contracts, pki, basePath: '/v1', ...options });
  cleanup.push(() => s.close());
  return s;
}

/** A client whose base URL carries the gateway's credentials and, as some gateways want, the card number. */
function bhyt(url: string, log: Logger, timeoutMs = 3000): BhytClient {
  const client = new BhytClient({ endpoint: { url: `${url}?token=${SECRET}&cardNumber=${lookup.cardNumber}`, timeoutMs }, tls: shared.source, contracts: shared.contracts, deviceId: pki.deviceId, log });
  cleanup.push(() => client.close());
  return client;
}

async function failure(run: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  const err: unknown = await run.then(() => undefined, (e: unknown) => e);
  expect(isKioskError(err), String(err)).toBe(true);
  const { code, message, details } = err as { code: string; message: string; details: unknown };
  return { code, message, details };
}

describe('BhytClient.lookup', () => {
  it('answers the card state per the contract; the gateway got its credentials in the query', async () => {
    const s = await gateway();
    const result = await bhyt(s.url(), capturedLog().log).lookup(lookup);
    expect(result).toEqual({ result: 'valid', resultCode: '000', checkedAt: '2026-12-06T02:00:00.000Z' });
    expect(s.received[0]!.query).toContain(`token=${SECRET}`);
    expect(s.received[0]!.body).toEqual(lookup);
  });

  const cases: Array<[string, ContractServerOptions['fault'], string, Record<string, unknown>]> = [
    ['no answer within the timeout', () => 'hang', 'SYNC_LOOKUP_TIMEOUT', { timeoutMs: 200 }],
    ['503 with Retry-After', () => ({ status: 503, headers: { 'retry-after': '10' }, body: { title: 'down', status: 503, code: 'TRANSIENT' } }), 'SYNC_LOOKUP_REFUSED', { status: 503, reason: 'TRANSIENT', retryAfter: '10' }],
    ['401', () => ({ status: 401, body: { title: 'no', status: 401, code: 'SECURITY' } }), 'SYNC_LOOKUP_REFUSED', { status: 401, reason: 'SECURITY' }],
    ['a 200 whose body breaks the contract', () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: { result: 'maybe', resultCode: '000', checkedAt: 'now' } }), 'SYNC_LOOKUP_MALFORMED', { status: 200, pointer: '/body/result' }],
    ['a status the contract does not declare', () => ({ status: 418, body: { title: 'teapot', status: 418, code: 'TEAPOT' } }), 'SYNC_LOOKUP_MALFORMED', { status: 418, pointer: '/status' }],
    ['a connection reset', () => 'reset', 'SYNC_LOOKUP_UNREACHABLE', { reason: 'ECONNRESET' }],
  ];
  for (const [what, fault, code, details] of cases) {
    it(`${what}: ${code}; the log holds neither the token nor the card number`, async () => {
      const s = await gateway({ fault });
      const captured = capturedLog();
      const err = await failure(bhyt(s.url(), captured.log, 200).lookup(lookup));
      expect(err.code).toBe(code);
      expect(err.details).toMatchObject(details);
      const logged = captured.text();
      expect(captured.lines().find((l) => l.msg === 'BHYT card lookup failed')).toMatchObject({ code, url: `https://127.0.0.1:${s.port}/v1/insurance-cards/lookup` });
      for (const text of [logged, err.message, JSON.stringify(err.details)]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(lookup.cardNumber);
        expect(text).not.toContain(persona.idNumber);
      }
    });
  }

  it('a gateway that is not listening: SYNC_LOOKUP_UNREACHABLE', async () => {
    const s = await ContractServer.start({ upstream: 'bhyt-check', contracts: shared.contracts, pki });
    const url = s.url();
    await s.close();
    const captured = capturedLog();
    const err = await failure(bhyt(url, captured.log).lookup(lookup));
    expect(err).toMatchObject({ code: 'SYNC_LOOKUP_UNREACHABLE', details: { reason: 'ECONNREFUSED' } });
    expect(captured.text()).not.toContain(SECRET);
  });

  it('a gateway certificate for another host: SYNC_LOOKUP_REFUSED naming the TLS code', async () => {
    const s = await gateway({ identity: pki.servers.wrongHost });
    const err = await failure(bhyt(s.url(), capturedLog().log).lookup(lookup));
    expect(err).toMatchObject({ code: 'SYNC_LOOKUP_REFUSED', details: { tls: 'SYNC_UPSTREAM_WRONG_HOST' } });
  });

  it('bad input is refused before anything is sent', async () => {
    const s = await gateway();
    const err = await failure(bhyt(s.url(), capturedLog().log).lookup({ ...lookup, cardNumber: 'not-a-card' }));
    expect(err.code).toBe('CONTRACT_VIOLATION');
    expect(s.received).toHaveLength(0);
  });
});
