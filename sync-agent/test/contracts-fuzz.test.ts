import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { DELIVERED_UPSTREAMS, SAMPLE_DEVICE_ID, sampleAnswers, sampleDeliveries } from '@kiosk/fixtures';
import { Contracts, requestFor } from '../src/contracts/index.js';

const RUNS = 1000;
/** Fixed seed: the same cases on every run. */
const SEED = 9303;
let contracts: Contracts;
beforeAll(async () => {
  contracts = await Contracts.load();
});

type Json = unknown;

/** Every path to a value inside `value` (the root is []). */
function paths(value: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const here = [at];
  if (Array.isArray(value)) return here.concat(value.flatMap((v, i) => paths(v, [...at, i])));
  if (typeof value === 'object' && value !== null) return here.concat(Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k])));
  return here;
}

type Mutation = { kind: 'replace'; value: Json } | { kind: 'delete' } | { kind: 'add'; key: string; value: Json };

/** A copy of `value` with one mutation at `path`: replaced, deleted (from its object or array), or a key added. */
function mutate(value: Json, path: Array<string | number>, mutation: Mutation): Json {
  if (path.length === 0) {
    if (mutation.kind === 'replace') return mutation.value;
    if (mutation.kind === 'add' && typeof value === 'object' && value !== null && !Array.isArray(value)) return { ...value, [mutation.key]: mutation.value };
    return mutation.kind === 'delete' ? undefined : value;
  }
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const list = value as Json[];
    const i = Number(head);
    if (rest.length === 0 && mutation.kind === 'delete') return list.filter((_, j) => j !== i);
    return list.map((v, j) => (j === i ? mutate(v, rest, mutation) : v));
  }
  const object = value as Record<string, Json>;
  const key = String(head);
  if (rest.length === 0 && mutation.kind === 'delete') return Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
  return { ...object, [key]: mutate(object[key], rest, mutation) };
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue() }),
  fc.constant({ kind: 'delete' as const }),
  fc.record({ kind: fc.constant('add' as const), key: fc.string({ maxLength: 12 }), value: fc.jsonValue() }),
);

/** Either it validates or it is CONTRACT_VIOLATION with a pointer: anything else (a crash, another error) is 'crash'. */
function validated(check: () => unknown): 'valid' | 'refused' | 'crash' {
  try {
    check();
    return 'valid';
  } catch (err) {
    return isKioskError(err) && err.code === 'CONTRACT_VIOLATION' && typeof err.details?.pointer === 'string' ? 'refused' : 'crash';
  }
}

const samples = sampleDeliveries();
const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

describe('contract validation under random mutations', () => {
  it(`mutated request bodies and outbox payloads validate or give CONTRACT_VIOLATION, never a crash (${RUNS} runs each)`, () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), mutation, (which, where, change) => {
        const delivery = pick(samples, which);
        const request = requestFor(delivery.upstream, delivery, { deviceId: SAMPLE_DEVICE_ID });
        const body = mutate(request.body, pick(paths(request.body), where), change);
        const outcome = validated(() => contracts.validateRequest(delivery.upstream, { ...request, body }));
        if (outcome === 'refused') refused++;
        const payload = mutate(delivery.payload, pick(paths(delivery.payload), where), change) as Record<string, unknown>;
        const built = validated(() => contracts.validateRequest(delivery.upstream, requestFor(delivery.upstream, { ...delivery, payload }, { deviceId: SAMPLE_DEVICE_ID })));
        return outcome !== 'crash' && built !== 'crash';
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The mutations do reach the rules: most of them break the request.
    expect(refused).toBeGreaterThan(RUNS / 4);
  });

  it(`mutated answers and headers validate or give CONTRACT_VIOLATION, never a crash (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), mutation, fc.string({ maxLength: 20 }), fc.integer({ min: 100, max: 599 }), (which, answerIndex, where, change, header, status) => {
        const upstream = pick(DELIVERED_UPSTREAMS, which);
        const request = requestFor(upstream, pick(samples.filter((s) => s.upstream === upstream), which), { deviceId: SAMPLE_DEVICE_ID });
        const answer = pick(sampleAnswers(upstream), answerIndex);
        const body = mutate(answer.body, pick(paths(answer.body), where), change);
        const headers = { ...request.headers, 'x-device-seq': header, 'idempotency-key': header };
        return [
          validated(() => contracts.validateResponse(upstream, request, { ...answer, body })),
          validated(() => contracts.validateResponse(upstream, request, { ...answer, status })),
          validated(() => contracts.validateRequest(upstream, { ...request, headers })),
        ].every((o) => o !== 'crash');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
