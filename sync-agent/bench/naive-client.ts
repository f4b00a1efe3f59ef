import { Agent } from 'node:https';
import type { TransactionStore } from '@kiosk/store';
import { requestFor, type DeliveredUpstream } from '../src/contracts/index.js';
import type { ClientTls } from '../src/tls/index.js';
import { exchange, joinUrl } from '../src/transport/exchange.js';

/**
 * The benchmark's peer, never product code: the plain way to deliver an outbox, one row at a time. Each request
 * opens its own mTLS connection (keep-alive off, one socket), waits for its answer, and the row is marked delivered
 * in its own store transaction. It sends the same requests (`requestFor`) to the same simulators as the relay, and
 * skips the relay's contract checks and answer policy, so it does less work per row than the relay, not more.
 */
export async function naiveDrain(store: TransactionStore, tls: ClientTls, urls: Record<DeliveredUpstream, string>, deviceId: string): Promise<number> {
  const agent = new Agent({ ...tls.options, keepAlive: false, maxSockets: 1 });
  let delivered = 0;
  try {
    for (;;) {
      const due = store.claimDue({ limit: 100 });
      if (due.length === 0) return delivered;
      for (const row of due) {
        const upstream = row.upstream as DeliveredUpstream;
        const request = requestFor(upstream, row, { deviceId });
        const answer = await exchange(agent, joinUrl(urls[upstream], request.path), request, 10_000);
        if (answer.status >= 300 && answer.status !== 409) throw new Error(`${upstream} answered ${answer.status}`);
        store.markDelivered(row.id);
        delivered++;
      }
    }
  } finally {
    agent.destroy();
  }
}
