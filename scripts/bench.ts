// `npm run bench [-- FILTER]`: runs every workspace's bench/*.bench.ts (or those whose path contains FILTER),
// prints one table, and writes bench/results.json. Never part of `npm test`.
import { mkdirSync, readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { formatResults, runSuite, type BenchResult, type BenchSuite } from '@kiosk/common/bench';

const root = new URL('../', import.meta.url);
const filter = process.argv[2] ?? '';
const { workspaces } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { workspaces: string[] };

const files = workspaces.flatMap((ws) => {
  const dir = new URL(`${ws}/bench/`, root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => `${ws}/bench/${f}`);
}).filter((f) => f.includes(filter));

const results: BenchResult[] = [];
const skipped: Array<{ file: string; reason: string }> = [];
for (const file of files) {
  const suite = (await import(pathToFileURL(new URL(file, root).pathname).href) as { default: BenchSuite }).default;
  const reason = suite.skipReason?.();
  if (reason) {
    skipped.push({ file, reason });
    process.stderr.write(`SKIPPED ${file}: ${reason}\n`);
    continue;
  }
  process.stderr.write(`running ${file} ...\n`);
  results.push(...(await runSuite(suite)));
}

process.stdout.write(`\n${formatResults(results)}\n`);
mkdirSync(new URL('bench/', root), { recursive: true });
const out = new URL('bench/results.json', root);
writeFileSync(
  out,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: { node: process.version, platform: process.platform, cpus: cpus().length, cpu: cpus()[0]?.model }, results, skipped }, null, 2)}\n`,
);
process.stdout.write(`\nwrote ${out.pathname}${skipped.length ? ` (${skipped.length} suite(s) skipped)` : ''}\n`);
