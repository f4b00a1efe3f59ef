import { describe, expect, it } from 'vitest';
import { checkDeliveries, type Arrivals, type LedgerRow, type StoreLedger } from './helpers/delivery-checker.js';

// The campaign's checker must fail when a guarantee breaks: crafted ledgers and records, one fault each.

const row = (key: string, seq: number, state: LedgerRow['state'] = 'delivered'): LedgerRow => ({ upstream: 'city-tthc', idempotencyKey: key, aggregate: 's1', seq, state });
const rec = (key: string, seq: number, arrival: number): Arrivals => ({ idempotencyKey: key, stream: 's1', seq, arrival });
const ledger = (rows: LedgerRow[], requeued: string[] = []): StoreLedger => ({ rows, requeued: new Set(requeued) });
const rows = [row('a', 1), row('b', 2), row('c', 3)];

describe('checkDeliveries', () => {
  it('passes when every row is held once, in order', () => {
    expect(checkDeliveries(ledger(rows), { 'city-tthc': [rec('a', 1, 1), rec('b', 2, 2), rec('c', 3, 5)] })).toEqual({ problems: [], deliveries: 3, held: 3, pending: 0, deadLettered: 0, requeuedExcluded: 0 });
  });

  it('detects a lost record', () => {
    expect(checkDeliveries(ledger(rows), { 'city-tthc': [rec('a', 1, 1), rec('c', 3, 3)] }).problems).toEqual(['lost: b (delivered) is not held by city-tthc']);
  });

  it('detects a doubled record', () => {
    expect(checkDeliveries(ledger(rows), { 'city-tthc': [rec('a', 1, 1), rec('b', 2, 2), rec('c', 3, 3), rec('b', 2, 4)] }).problems).toEqual(['doubled: b held more than once by city-tthc']);
  });

  it('detects an order violation, unless the late one was requeued after a restore', () => {
    const late = { 'city-tthc': [rec('a', 1, 1), rec('c', 3, 2), rec('b', 2, 3)] };
    expect(checkDeliveries(ledger(rows), late).problems).toEqual(['order: city-tthc stream s1 got seq 2 (b) after seq 3 (c)']);
    expect(checkDeliveries(ledger(rows, ['b']), late)).toMatchObject({ problems: [], requeuedExcluded: 1 });
  });

  it('detects pending rows, dead letters, records the store never committed and wrong stream headers', () => {
    const result = checkDeliveries(ledger([row('a', 1), row('b', 2, 'pending'), row('c', 3, 'dead-letter')]), { 'city-tthc': [rec('a', 7, 1), rec('x', 9, 2)] });
    expect(result.problems).toEqual([
      'headers: city-tthc holds a as s1#7, the store committed s1#1',
      'unexpected: city-tthc holds x, which the store did not commit for it',
      'lost: b (pending) is not held by city-tthc',
      'lost: c (dead-letter) is not held by city-tthc',
      'pending: 1 deliveries not delivered',
      'dead letters: 1',
    ]);
    expect(checkDeliveries(ledger(rows), {}).problems).toEqual(['lost: no records at all from city-tthc']);
  });
});
