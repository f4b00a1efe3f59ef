// Draws the dependency graph from the code: which workspace imports which (@kiosk/* specifiers in src, bin, test
// and bench files) and which device-drivers/src folder imports which (relative specifiers). Reads every import,
// export-from and dynamic import() with TypeScript's own pre-processor. `npm run deps:graph` prints text;
// `--mermaid` prints mermaid flowcharts; `--write` puts both into docs/ARCHITECTURE.md (a test fails when they differ).
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;

export interface DependencyGraph {
  /** workspace -> the workspaces its runtime code (src, bin) imports. */
  workspaces: Map<string, Set<string>>;
  /** workspace -> the workspaces only its tests and benches import. */
  workspacesDev: Map<string, Set<string>>;
  /** device-drivers/src folder -> the folders it imports. */
  driverFolders: Map<string, Set<string>>;
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Every module specifier a file imports, re-exports or loads with import(). */
export function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function add(map: Map<string, Set<string>>, from: string, to: string): void {
  if (from === to) return;
  let set = map.get(from);
  if (!set) map.set(from, (set = new Set()));
  set.add(to);
}

/** The folder of device-drivers/src a file sits in ('index.ts' at the top counts as 'index'). */
function driverFolderOf(file: string, srcRoot: string): string {
  const rel = relative(srcRoot, file).split(sep);
  return rel.length === 1 ? 'index' : rel[0]!;
}

/** The workspace folders the root package.json lists. */
function workspaceNames(root: string): string[] {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
}

export function dependencyGraph(root: string = ROOT): DependencyGraph {
  const graph: DependencyGraph = { workspaces: new Map(), workspacesDev: new Map(), driverFolders: new Map() };
  for (const workspace of workspaceNames(root)) {
    graph.workspaces.set(workspace, new Set());
    for (const part of ['src', 'bin', 'test', 'bench']) {
      const runtime = part === 'src' || part === 'bin';
      for (const file of sourceFiles(join(root, workspace, part))) {
        for (const spec of importsOf(file)) {
          const match = /^@kiosk\/([^/]+)/.exec(spec);
          if (match) add(runtime ? graph.workspaces : graph.workspacesDev, workspace, match[1]!);
        }
      }
    }
  }
  // Test-only edges that runtime code already has say nothing new.
  for (const [from, tos] of graph.workspacesDev) for (const to of graph.workspaces.get(from) ?? []) tos.delete(to);
  const srcRoot = join(root, 'device-drivers', 'src');
  for (const file of sourceFiles(srcRoot)) {
    const from = driverFolderOf(file, srcRoot);
    graph.driverFolders.set(from, graph.driverFolders.get(from) ?? new Set());
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(srcRoot + sep)) continue;
      add(graph.driverFolders, from, driverFolderOf(target, srcRoot));
    }
  }
  return graph;
}

/** The file a relative specifier names (sources import './x.js' for './x.ts'), when it exists. */
function resolveRelative(from: string, spec: string, files: Set<string>): string | undefined {
  const target = resolve(dirname(from), spec);
  const candidates = [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')];
  return candidates.find((c) => files.has(c));
}

/**
 * Import circles between the files of every workspace's src (relative imports, type-only ones included): each is
 * a strongly connected set of files, named relative to the root. Empty when the direction holds.
 */
export function importCycles(root: string = ROOT): string[][] {
  const files = new Set(workspaceNames(root).flatMap((w) => sourceFiles(join(root, w, 'src'))));
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(file).filter((spec) => spec.startsWith('.')).map((spec) => resolveRelative(file, spec, files));
    edges.set(file, targets.filter((t): t is string => t !== undefined));
  }
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(root, w));
    } while (w !== v);
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}

function sorted(map: Map<string, Set<string>>): [string, string[]][] {
  return [...map].sort(([a], [b]) => a.localeCompare(b)).map(([from, tos]) => [from, [...tos].sort()]);
}

export function renderText(graph: DependencyGraph): string {
  const lines = ['Workspaces (runtime code: src, bin; [test] = tests and benches only):'];
  for (const [from, tos] of sorted(graph.workspaces)) {
    const dev = [...(graph.workspacesDev.get(from) ?? [])].sort().map((to) => `${to} [test]`);
    lines.push(`  ${from.padEnd(15)} -> ${[...tos, ...dev].join(', ') || '(none)'}`);
  }
  lines.push('', 'device-drivers/src folders:');
  for (const [from, tos] of sorted(graph.driverFolders)) lines.push(`  ${from.padEnd(15)} -> ${tos.join(', ') || '(none)'}`);
  return `${lines.join('\n')}\n`;
}

export function renderMermaid(graph: DependencyGraph): string {
  const id = (name: string): string => name.replace(/[^a-zA-Z0-9]/g, '_');
  const lines = ['```mermaid', 'flowchart LR'];
  for (const [from, tos] of sorted(graph.workspaces)) {
    lines.push(`  ${id(from)}[${from}]`);
    for (const to of tos) lines.push(`  ${id(from)} --> ${id(to)}`);
    for (const to of [...(graph.workspacesDev.get(from) ?? [])].sort()) lines.push(`  ${id(from)} -. test .-> ${id(to)}`);
  }
  lines.push('```', '', '```mermaid', 'flowchart LR');
  for (const [from, tos] of sorted(graph.driverFolders)) {
    lines.push(`  dd_${id(from)}[${from}]`);
    for (const to of tos) lines.push(`  dd_${id(from)} --> dd_${id(to)}`);
  }
  lines.push('```');
  return `${lines.join('\n')}\n`;
}

const DOC = join(ROOT, 'docs', 'ARCHITECTURE.md');
const BEGIN = '<!-- deps:graph begin (npm run deps:graph -- --write) -->';
const END = '<!-- deps:graph end -->';

/** What docs/ARCHITECTURE.md shows between its markers: the text graph, then the two mermaid charts. */
export function renderDocBlock(graph: DependencyGraph): string {
  return `${BEGIN}\n\n\`\`\`text\n${renderText(graph)}\`\`\`\n\n${renderMermaid(graph)}\n${END}`;
}

/** The block as docs/ARCHITECTURE.md has it now, or undefined without markers. */
export function docBlock(doc: string = readFileSync(DOC, 'utf8')): string | undefined {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END, start);
  return start < 0 || end < 0 ? undefined : doc.slice(start, end + END.length);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = dependencyGraph();
  if (process.argv.includes('--write')) {
    const doc = readFileSync(DOC, 'utf8');
    const current = docBlock(doc);
    if (current === undefined) throw new Error(`${DOC} has no "${BEGIN}" ... "${END}" block`);
    writeFileSync(DOC, doc.replace(current, renderDocBlock(graph)));
    process.stdout.write(`wrote the graph into ${DOC}\n`);
  } else {
    process.stdout.write(process.argv.includes('--mermaid') ? renderMermaid(graph) : renderText(graph));
  }
  const cycles = importCycles();
  for (const cycle of cycles) process.stderr.write(`import circle: ${cycle.join(' <-> ')}\n`);
  process.exitCode = cycles.length > 0 ? 1 : 0;
}
