import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface UiAsset {
  type: string;
  body: Buffer;
}

const uiDir = fileURLToPath(new URL('../ui/', import.meta.url));

/** The renderer's files, built once at start-up (the UI is TypeScript, bundled in memory by esbuild). */
export async function loadUiAssets(): Promise<Map<string, UiAsset>> {
  const bundle = await build({
    entryPoints: [`${uiDir}main.ts`],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'chrome120',
    sourcemap: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0];
  if (!js) throw new Error('esbuild produced no output for the UI');
  return new Map<string, UiAsset>([
    ['/', { type: 'text/html; charset=utf-8', body: await readFile(`${uiDir}index.html`) }],
    ['/app.css', { type: 'text/css; charset=utf-8', body: await readFile(`${uiDir}app.css`) }],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(js.contents) }],
  ]);
}
