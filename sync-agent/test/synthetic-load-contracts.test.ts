import { describe, expect, it } from 'vitest';
import { LOAD_UPSTREAMS, syntheticTransactions } from '@kiosk/fixtures';
import { Contracts, requestFor } from '../src/contracts/index.js';

// The synthetic load (`kiosk-sim transactions`) feeds the benchmark and the fault campaign: every payload it records
// must make a request the contracts accept, or the agent would dead-letter it locally and the figures would lie.
describe('synthetic load against the contracts', () => {
  it('2,000 synthetic transactions (seed 5): every delivery builds a request its upstream contract accepts', async () => {
    const contracts = await Contracts.load();
    const source = syntheticTransactions({ seed: 5, upstreams: LOAD_UPSTREAMS });
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = source.next();
      t.deliveries.forEach((d, n) => {
        const delivery = { upstream: d.upstream, idempotencyKey: `${t.id!}/${d.upstream}`, aggregate: d.aggregate!, aggregateSeq: n + 1, payload: d.payload as Record<string, unknown> };
        const upstream = d.upstream as (typeof LOAD_UPSTREAMS)[number];
        expect(contracts.validateRequest(upstream, requestFor(upstream, delivery, { deviceId: 'dev-kiosk-01' }))).toMatch(/^[a-zA-Z]+$/);
        expect(d.payload).toMatchObject({ transactionId: t.id });
        seen.add(upstream);
      });
    }
    expect([...seen].sort()).toEqual([...LOAD_UPSTREAMS].sort());
  });
});
