import { KioskError } from '@kiosk/common';
import { z } from 'zod';

/**
 * Faults a simulator injects on command. Each armed fault applies either to the next `count` requests that reach
 * it, or to each request with probability `probability`, drawn from the simulator's seeded PRNG (so a run with
 * the same seed and the same request order injects the same faults). Armed faults are tried in the order armed;
 * one request gets at most one of them, except `duplicate-ack`, which only repeats of a held delivery consume.
 */
export const FAULT_KINDS = ['drop-before-commit', 'drop-after-commit', 'delay', 'status', 'throttle', 'reset-mid-response', 'duplicate-ack'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const trigger = {
  count: z.number().int().min(1).max(1_000_000).optional(),
  probability: z.number().min(0).max(1).optional(),
};

export const faultSpec = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('drop-before-commit'), ...trigger }),
    z.strictObject({ kind: z.literal('drop-after-commit'), ...trigger }),
    z.strictObject({ kind: z.literal('delay'), ms: z.number().int().min(1).max(600_000), ...trigger }),
    z.strictObject({ kind: z.literal('status'), status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]), retryAfter: z.number().int().min(0).max(86_400).optional(), ...trigger }),
    z.strictObject({ kind: z.literal('throttle'), retryAfter: z.number().int().min(0).max(86_400), ...trigger }),
    z.strictObject({ kind: z.literal('reset-mid-response'), ...trigger }),
    z.strictObject({ kind: z.literal('duplicate-ack'), ...trigger }),
  ])
  .refine((f) => !(f.count !== undefined && f.probability !== undefined), { message: 'give count or probability, not both' });

export type FaultSpec = z.infer<typeof faultSpec>;

/** Checks a fault command (from the admin API's JSON or the CLI's flags); refusals are USAGE errors naming the field. */
export function parseFaultSpec(input: unknown): FaultSpec {
  const result = faultSpec.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'fault';
  throw new KioskError('USAGE', `invalid fault: ${where}: ${issue?.message ?? 'invalid'} (kinds: ${FAULT_KINDS.join(', ')})`, { details: { field: where } });
}

/** mulberry32: a small, well-known 32-bit PRNG; enough to make probabilistic faults reproducible from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Armed {
  spec: FaultSpec;
  /** Requests it still applies to (count mode); undefined in probability mode. */
  left: number | undefined;
}

export class FaultPlan {
  private armed: Armed[] = [];
  private readonly injected = new Map<FaultKind, number>();
  private readonly random: () => number;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Arms a fault; without count or probability it applies to the next request only. */
  arm(input: unknown): FaultSpec {
    const spec = parseFaultSpec(input);
    this.armed.push({ spec, left: spec.probability === undefined ? (spec.count ?? 1) : undefined });
    return spec;
  }

  clear(): void {
    this.armed = [];
  }

  /** The fault this request gets, if any: `repeat` says whether it is a repeat of a held delivery (for duplicate-ack). */
  take(stage: 'arrival' | 'repeat'): FaultSpec | undefined {
    for (const a of this.armed) {
      if ((a.spec.kind === 'duplicate-ack') !== (stage === 'repeat')) continue;
      if (a.left === undefined ? this.random() >= (a.spec.probability ?? 0) : a.left <= 0) continue;
      if (a.left !== undefined) a.left--;
      this.armed = this.armed.filter((x) => x.left === undefined || x.left > 0);
      this.injected.set(a.spec.kind, (this.injected.get(a.spec.kind) ?? 0) + 1);
      return a.spec;
    }
    return undefined;
  }

  stats(): { injected: Partial<Record<FaultKind, number>>; armed: Array<FaultSpec & { left?: number }> } {
    return {
      injected: Object.fromEntries(this.injected),
      armed: this.armed.map((a) => (a.left === undefined ? a.spec : { ...a.spec, left: a.left })),
    };
  }
}

/** CLI flags (text) of `kiosk-upstream-sim fault` as a fault command: numbers parsed, then parseFaultSpec's checks. */
export function faultFromFlags(kind: string, flags: Partial<Record<'count' | 'probability' | 'ms' | 'status' | 'retry-after', string>>): FaultSpec {
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : v.trim() === '' ? Number.NaN : Number(v));
  const fields = { count: num(flags.count), probability: num(flags.probability), ms: num(flags.ms), status: num(flags.status), retryAfter: num(flags['retry-after']) };
  return parseFaultSpec({ kind, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) });
}
