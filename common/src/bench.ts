import { Bench } from 'tinybench';

/**
 * The benchmark contract every workspace follows: a `bench/*.bench.ts` file default-exports a `BenchSuite`;
 * `npm run bench` (scripts/bench.ts) runs them all and writes bench/results.json. Each case measures our
 * implementation and its peers in the same run, so figures in one table are comparable.
 */

/** Produces one sample of a figure (e.g. APDU count, bytes, modelled milliseconds). */
export type Measure = () => number | Promise<number>;

export interface TimedCase {
  kind: 'time';
  name: string;
  /** Our implementation: one call = one operation; the figure is its latency in ms (median of samples). */
  ours: () => unknown;
  /** Peer implementations of the same operation, measured in the same run. */
  peers?: Record<string, () => unknown>;
  /** Minimum time per task in ms (tinybench `time`); default 500. */
  timeMs?: number;
}

export interface FigureCase {
  kind: 'figure';
  name: string;
  unit: string;
  /** Whether a smaller figure is better (true for latency, APDUs, bytes); shown in the table. */
  lowerIsBetter: boolean;
  samples?: number;
  ours: Measure;
  peers?: Record<string, Measure>;
}

export type BenchCase = TimedCase | FigureCase;

export interface BenchSuite {
  /** Short title, e.g. "local API". */
  title: string;
  /** Why this suite cannot run on this machine (printed), or undefined when it can. */
  skipReason?: () => string | undefined;
  /** Starts what the cases need (servers, pcscd); returns the cases. */
  setup?: () => Promise<void>;
  cases: () => BenchCase[] | Promise<BenchCase[]>;
  teardown?: () => Promise<void>;
}

export interface Figure {
  median: number;
  samples: number;
}

export interface BenchResult {
  suite: string;
  name: string;
  unit: string;
  lowerIsBetter: boolean;
  median: number;
  samples: number;
  peers: Array<{ name: string } & Figure>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function sampleFigure(measure: Measure, samples: number): Promise<Figure> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) values.push(await measure());
  return { median: median(values), samples: values.length };
}

async function runTimed(c: TimedCase): Promise<Map<string, Figure>> {
  const bench = new Bench({ time: c.timeMs ?? 500, warmupTime: 100, throws: true });
  bench.add('ours', c.ours);
  for (const [name, fn] of Object.entries(c.peers ?? {})) bench.add(name, fn);
  await bench.run();
  const figures = new Map<string, Figure>();
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`benchmark task ${c.name}/${task.name} ended ${r.state}`);
    figures.set(task.name, { median: r.latency.p50, samples: r.latency.samplesCount });
  }
  return figures;
}

export async function runSuite(suite: BenchSuite): Promise<BenchResult[]> {
  await suite.setup?.();
  try {
    const results: BenchResult[] = [];
    for (const c of await suite.cases()) {
      let ours: Figure;
      const peers: BenchResult['peers'] = [];
      if (c.kind === 'time') {
        const figures = await runTimed(c);
        ours = figures.get('ours') as Figure;
        for (const [name, f] of figures) if (name !== 'ours') peers.push({ name, ...f });
      } else {
        const n = c.samples ?? 10;
        ours = await sampleFigure(c.ours, n);
        for (const [name, m] of Object.entries(c.peers ?? {})) peers.push({ name, ...(await sampleFigure(m, n)) });
      }
      results.push({
        suite: suite.title,
        name: c.name,
        unit: c.kind === 'time' ? 'ms' : c.unit,
        lowerIsBetter: c.kind === 'time' ? true : c.lowerIsBetter,
        median: ours.median,
        samples: ours.samples,
        peers,
      });
    }
    return results;
  } finally {
    await suite.teardown?.();
  }
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** A plain-text table: one row per case, ours then each peer, with the ratio peer/ours. */
export function formatResults(results: readonly BenchResult[]): string {
  const rows: string[][] = [['suite', 'case', 'implementation', 'median', 'unit', 'samples', 'vs ours']];
  for (const r of results) {
    rows.push([r.suite, r.name, 'ours', fmt(r.median), r.unit, String(r.samples), '']);
    for (const p of r.peers) {
      const ratio = r.median === 0 ? '' : `${fmt(p.median / r.median)}x`;
      rows.push(['', '', p.name, fmt(p.median), r.unit, String(p.samples), ratio]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
