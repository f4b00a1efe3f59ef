import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { DRIVER_FOLDER_RULES } from '../eslint-dependency-direction.js';
import { dependencyGraph, docBlock, importCycles, renderDocBlock } from '../dependency-graph.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The repository's own eslint.config.js, without type information: the probes are snippets at paths that need not
// exist, and the dependency rule reads only the import specifiers and the file's place.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [{ ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { projectService: false, project: null } } }],
});

async function dependencyErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${filePath}` });
  return result!.messages.filter((m) => m.ruleId === 'kiosk/dependency-direction').map((m) => m.message);
}

describe('the dependency direction (ESLint kiosk/dependency-direction)', () => {
  it('fails device-drivers code that imports @kiosk/store, which its package.json does not list', async () => {
    const errors = await dependencyErrors("import { openStore } from '@kiosk/store';\nexport const open = openStore;\n", 'device-drivers/src/smartcard/probe.ts');
    expect(errors).toEqual([expect.stringContaining('device-drivers src may not import @kiosk/store')]);
  });

  it('catches export-from, dynamic import() and import types as well', async () => {
    const code = [
      "export { createTestPki } from '@kiosk/fixtures';",
      "export const load = () => import('@kiosk/fixtures');",
      "export type Pki = import('@kiosk/fixtures').TestPki;",
    ].join('\n');
    expect(await dependencyErrors(code, 'sync-agent/src/probe.ts')).toHaveLength(3);
  });

  it('lets tests use devDependencies, never runtime code: the kiosk reads no fixtures at run time', async () => {
    const code = "import { PERSONAS } from '@kiosk/fixtures';\nexport const first = PERSONAS[0];\n";
    expect(await dependencyErrors(code, 'kiosk-app/test/probe.test.ts')).toEqual([]);
    expect(await dependencyErrors(code, 'kiosk-app/src/probe.ts')).toEqual([expect.stringContaining('kiosk-app src may not import @kiosk/fixtures')]);
    expect(await dependencyErrors("export const load = () => import('@kiosk/fixtures');\n", 'kiosk-app/src/service/probe.ts')).toHaveLength(1);
  });

  it('fails emrtd importing qr, by relative path or through the package export', async () => {
    const relative = "import { parseCccdQr } from '../qr/cccd-qr.js';\nexport const parse = parseCccdQr;\n";
    expect(await dependencyErrors(relative, 'device-drivers/src/emrtd/probe.ts')).toEqual([expect.stringContaining('device-drivers/src/emrtd may not import qr/')]);
    const viaExport = "import { parseCccdQr } from '@kiosk/device-drivers/qr';\nexport const parse = parseCccdQr;\n";
    expect(await dependencyErrors(viaExport, 'device-drivers/src/emrtd/access/probe.ts')).toEqual([expect.stringContaining('may not import qr/')]);
  });

  it('keeps the smartcard transport below every other folder', async () => {
    for (const folder of ['emrtd', 'verify', 'qr', 'face', 'camera', 'printer']) {
      const code = `import * as upper from '../../${folder}/index.js';\nexport { upper };\n`;
      expect(await dependencyErrors(code, 'device-drivers/src/smartcard/pcsc/probe.ts')).toHaveLength(1);
    }
  });

  it('allows the direction the code has: emrtd on smartcard, cli on everything, a card session on the card stack', async () => {
    expect(await dependencyErrors("export * from '../smartcard/apdu.js';\n", 'device-drivers/src/emrtd/probe.ts')).toEqual([]);
    expect(await dependencyErrors("export * from '../qr/index.js';\nexport * from '../emrtd/index.js';\n", 'device-drivers/src/cli/probe.ts')).toEqual([]);
    const session = "export * from '../smartcard/index.js';\nexport * from '../emrtd/index.js';\nexport * from '../verify/index.js';\n";
    expect(await dependencyErrors(session, 'device-drivers/src/card-session/probe.ts')).toEqual([]);
    expect(await dependencyErrors("export * from '../emrtd/tlv.js';\n", 'device-drivers/src/encoding/probe.ts')).toHaveLength(1);
  });

  it('holds for the code as it is: the drawn graph follows the folder rules and has no import circles', () => {
    const graph = dependencyGraph(root);
    for (const [from, tos] of graph.driverFolders) {
      const allowed = DRIVER_FOLDER_RULES[from];
      if (allowed) expect([...tos].filter((to) => !allowed.includes(to)), `device-drivers/src/${from}`).toEqual([]);
    }
    expect(graph.workspaces.get('device-drivers')).toEqual(new Set(['common']));
    expect(importCycles(root)).toEqual([]);
  });

  it('docs/ARCHITECTURE.md shows the graph the code has (npm run deps:graph -- --write redraws it)', () => {
    expect(docBlock()).toBe(renderDocBlock(dependencyGraph(root)));
  });
});
