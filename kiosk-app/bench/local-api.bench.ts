import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import type { BenchSuite } from '@kiosk/common/bench';
import { createLogger, loadConfig } from '@kiosk/common';
import { startKioskServer, type KioskServer } from '../src/service/server.js';
import type { KioskEvent } from '../src/service/card-monitor.js';

// Latency of one authenticated local API call (token check, Host check, security headers, JSON) against a bare
// node:http server returning the same JSON: the price of the guards.
let kiosk: KioskServer;
let bare: Server;
let bareUrl: string;
const body = JSON.stringify({ device: { id: 'dev-kiosk-01' }, ui: { locale: 'vi', idleResetSeconds: 60 } });

const cards = Object.assign(new EventEmitter<{ event: [KioskEvent] }>(), { status: () => [] });

const suite: BenchSuite = {
  title: 'local API',
  async setup() {
    kiosk = await startKioskServer({ config: loadConfig({ env: { KIOSK_SERVICE_PORT: '0' } }), log: createLogger({ name: 'bench', level: 'silent' }), cards });
    bare = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/api/session`;
  },
  cases: () => {
    const headers = { authorization: `Bearer ${kiosk.token}` };
    const ours = new URL('/api/session', kiosk.url);
    return [
      {
        kind: 'time',
        name: 'GET /api/session round trip (ms)',
        ours: async () => (await fetch(ours, { headers })).text(),
        peers: { 'bare node:http (floor)': async () => (await fetch(bareUrl)).text() },
      },
    ];
  },
  async teardown() {
    await kiosk.close();
    bare.closeAllConnections();
    await new Promise((r) => bare.close(r));
  },
};

export default suite;
