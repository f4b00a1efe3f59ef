import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@kiosk/common';
import type { CardReaderStatus, KioskEvent } from '../src/service/card-monitor.js';
import { startKioskServer, type IdentityChecker, type KioskServer } from '../src/service/server.js';
import type { IdentityCheckResponse, IdentityProgressEvent } from '../src/shared/identity-api.js';

// A card monitor stand-in: the server is under test here; the real monitor runs in ui.int.test.ts.
class FakeCards extends EventEmitter<{ event: [KioskEvent] }> {
  status(): CardReaderStatus[] {
    return [{ kind: 'card-reader', driver: 'pcsc', mode: 'simulated', state: 'ready', readers: [{ name: 'Virtual PCD 00 00', cardPresent: false }] }];
  }
}

/** Records the CANs that reach the check: validation must stop every bad one before it gets here. */
class RecordingIdentity extends EventEmitter<{ event: [IdentityProgressEvent] }> implements IdentityChecker {
  readonly cans: string[] = [];
  async check(can: string): Promise<IdentityCheckResponse> {
    this.cans.push(can);
    this.emit('event', { type: 'identity-progress', phase: 'verifying' });
    return { outcome: 'wrong-can', triesLeft: 2 };
  }
}

function post(server: KioskServer, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(server: KioskServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('kiosk service', () => {
  let server: KioskServer;
  const cards = new FakeCards();
  const identity = new RecordingIdentity();
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${server.token}` });

  beforeAll(async () => {
    const config = loadConfig({ env: { KIOSK_SERVICE_PORT: '0' } });
    server = await startKioskServer({ config, log: createLogger({ name: 'test', level: 'silent' }), cards, identity });
  });
  afterAll(async () => {
    await server.close();
  });

  it('listens on loopback only and hands the token to the window in the URL fragment', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.launchUrl).toBe(`${server.url}#token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(43);
  });

  it('serves the UI without a token, with the strict security headers', async () => {
    const page = await get(server, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('translate="no"');
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(page.headers['x-frame-options']).toBe('DENY');
    const js = await get(server, '/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toContain('text/javascript');
    expect(js.body).toContain('/api/events');
  });

  it('refuses API calls without the right token, with a typed error', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { authorization: server.token }];
    for (const headers of attempts) {
      const res = await get(server, '/api/session', headers);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'API_UNAUTHORIZED', message: 'missing or wrong API token' } });
    }
    const ok = await get(server, '/api/session', auth());
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ device: { id: 'dev-kiosk-01' }, ui: { locale: 'vi', idleResetSeconds: 60 } });
  });

  it('refuses a foreign Host header (DNS rebinding), even with the token', async () => {
    const res = await get(server, '/api/devices', { ...auth(), host: 'evil.example:80' });
    expect(res.status).toBe(403);
    expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('API_FORBIDDEN_HOST');
    expect((await get(server, '/', { host: `localhost:${new URL(server.url).port}` })).status).toBe(200);
  });

  it('answers health without a token and unknown paths with 404 and the security headers', async () => {
    expect(JSON.parse((await get(server, '/api/health')).body)).toEqual({ status: 'ok' });
    const missing = await get(server, '/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-security-policy']).toBeDefined();
  });

  it('streams device state first, then card events, as JSON lines', async () => {
    const response = await fetch(new URL('/api/events', server.url), { headers: auth() });
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const lines: KioskEvent[] = [];
    let buffered = '';
    let sent = false;
    while (lines.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean).map((l) => JSON.parse(l) as KioskEvent));
      if (lines.length === 1 && !sent) {
        sent = true;
        cards.emit('event', { type: 'card-inserted', reader: 'Virtual PCD 00 00' });
      }
    }
    await reader.cancel();
    expect(lines[0]).toMatchObject({ type: 'devices', devices: [{ kind: 'card-reader', state: 'ready' }] });
    expect(lines[1]).toEqual({ type: 'card-inserted', reader: 'Virtual PCD 00 00' });
  });

  it('POST /api/card/read needs the token: 401 before the body is even looked at', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }];
    for (const headers of attempts) {
      const res = await post(server, '/api/card/read', '{"can":"123456"}', headers);
      expect(res.status).toBe(401);
      expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('API_UNAUTHORIZED');
    }
    expect(identity.cans).toEqual([]);
  });

  it('POST /api/card/read takes exactly {"can": six ASCII digits}; anything else is a 400 API_BAD_REQUEST that does not echo it', async () => {
    const bad = ['{"can":"12345"}', '{"can":"1234567"}', '{"can":"12345a"}', '{"can":123456}', '{"can":"١٢٣٤٥٦"}', '{"can":" 123456"}', '{"can":"123456\\n"}', '{"can":"123456","extra":1}', '{}', '[]', '"123456"', 'null'];
    for (const body of bad) {
      const res = await post(server, '/api/card/read', body, auth());
      expect(res.status, body).toBe(400);
      const error = (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
      expect(error.code, body).toBe('API_BAD_REQUEST');
      expect(error.message).not.toMatch(/12345/);
    }
    for (const broken of ['{"can":"12345x', '{"can":"123456",}']) {
      const res = await post(server, '/api/card/read', broken, auth());
      expect(res.status).toBe(400);
      const error = (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('API_BAD_REQUEST');
      expect(error.message).not.toMatch(/12345/);
    }
    expect(identity.cans).toEqual([]);
    const ok = await post(server, '/api/card/read', '{"can":"012345"}', auth());
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ outcome: 'wrong-can', triesLeft: 2 });
    expect(identity.cans).toEqual(['012345']);
  });

  it('forwards the identity check progress on /api/events', async () => {
    const response = await fetch(new URL('/api/events', server.url), { headers: auth() });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    const first = await reader.read(); // the device state line: the stream is subscribed from here on
    buffered += first.value ?? '';
    await post(server, '/api/card/read', '{"can":"654321"}', auth());
    while (!buffered.includes('identity-progress')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
    }
    await reader.cancel();
    const lines = buffered.split('\n').filter(Boolean).map((l) => JSON.parse(l) as KioskEvent);
    expect(lines.at(-1)).toEqual({ type: 'identity-progress', phase: 'verifying' });
  });
});
