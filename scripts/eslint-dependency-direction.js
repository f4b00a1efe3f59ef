// The dependency direction, enforced by ESLint (eslint.config.js): `kiosk/dependency-direction`.
//
// 1. A workspace imports only the @kiosk/* packages its package.json lists, read from the package.json files
//    themselves so the rule cannot drift from them: src/ and bin/ may use `dependencies` and
//    `optionalDependencies`; tests, benches and anything else in the workspace may also use `devDependencies`.
// 2. Inside device-drivers/src a folder imports only the folders DRIVER_FOLDER_RULES allows it (relative imports
//    and @kiosk/device-drivers/<export> alike). A folder without an entry (cli, the top-level index) may import
//    any folder; a folder missing from every allow-list can be imported only by those.
// Static imports, export-from, dynamic import() and import('...') types are all checked. docs/ARCHITECTURE.md
// ("Dependency rules") explains the direction; `npm run deps:graph` draws what the code does.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * device-drivers/src folder -> the folders it may import. Lower layers first: encoding and image are neutral
 * kernels (bytes, TLV, pixels), smartcard is the transport, emrtd the card protocol on top of it, verify checks
 * what emrtd read; qr, face, camera and printer are peripherals; card-session joins transport, card and checks.
 */
export const DRIVER_FOLDER_RULES = {
  encoding: [],
  image: ['encoding'],
  smartcard: ['encoding'],
  camera: ['encoding', 'image'],
  printer: ['encoding', 'image'],
  emrtd: ['encoding', 'image', 'smartcard'],
  verify: ['encoding', 'emrtd', 'smartcard'],
  qr: ['camera', 'emrtd', 'encoding', 'image'],
  face: ['camera', 'emrtd', 'encoding', 'image'],
  'card-session': ['emrtd', 'encoding', 'image', 'smartcard', 'verify'],
  testing: ['emrtd', 'encoding', 'smartcard', 'verify'],
};

const DRIVERS = 'device-drivers';
const workspaceCache = new Map();

/** The workspaces of the repository at `root`: folder -> package name, allowed @kiosk packages, exports. */
export function workspacePackages(root) {
  let workspaces = workspaceCache.get(root);
  if (workspaces) return workspaces;
  const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
  const kioskNames = (deps) => Object.keys(deps ?? {}).filter((name) => name.startsWith('@kiosk/'));
  workspaces = new Map();
  for (const folder of readJson(join(root, 'package.json')).workspaces) {
    const pkg = readJson(join(root, folder, 'package.json'));
    const runtime = [...kioskNames(pkg.dependencies), ...kioskNames(pkg.optionalDependencies)];
    workspaces.set(folder, { name: pkg.name, runtime: new Set(runtime), dev: new Set([...runtime, ...kioskNames(pkg.devDependencies)]), exports: pkg.exports ?? {} });
  }
  workspaceCache.set(root, workspaces);
  return workspaces;
}

/** The device-drivers/src folder of a path inside it ('index' for files at its top), else undefined. */
function driverFolderOf(root, path) {
  const rel = relative(join(root, DRIVERS, 'src'), path);
  if (rel.startsWith('..') || rel === '') return undefined;
  const parts = rel.split(sep);
  return parts.length === 1 ? 'index' : parts[0];
}

/** @type {import('eslint').Rule.RuleModule} */
const dependencyDirection = {
  meta: {
    type: 'problem',
    docs: { description: 'workspaces import only the @kiosk packages their package.json lists; device-drivers folders follow the layer direction' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, required: ['root'], additionalProperties: false }],
    messages: {
      undeclared: '{{workspace}} {{part}} may not import {{pkg}}: {{workspace}}/package.json does not list it in {{lists}} (dependency direction, docs/ARCHITECTURE.md)',
      folder: 'device-drivers/src/{{from}} may not import {{to}}/ (it may import: {{allowed}}; dependency direction, docs/ARCHITECTURE.md)',
    },
  },
  create(context) {
    const root = resolve(context.options[0].root);
    const filename = resolve(context.filename);
    const rel = relative(root, filename);
    if (rel.startsWith('..')) return {};
    const [folder, part] = rel.split(sep);
    const workspace = workspacePackages(root).get(folder);
    if (!workspace) return {};
    const runtime = part === 'src' || part === 'bin';
    const allowedPackages = runtime ? workspace.runtime : workspace.dev;
    const fromFolder = folder === DRIVERS && part === 'src' ? driverFolderOf(root, filename) : undefined;
    const folderAllows = fromFolder === undefined ? undefined : DRIVER_FOLDER_RULES[fromFolder];

    /** The device-drivers/src folder an import of device-drivers lands in, or undefined when not one. */
    const targetFolder = (specifier) => {
      if (specifier.startsWith('.')) return driverFolderOf(root, resolve(dirname(filename), specifier));
      const sub = specifier.slice(workspace.name.length);
      const target = workspace.exports[sub === '' ? '.' : `.${sub}`];
      return typeof target === 'string' ? driverFolderOf(root, join(root, DRIVERS, target)) : undefined;
    };

    const check = (node, specifier) => {
      if (typeof specifier !== 'string') return;
      const pkg = /^@kiosk\/[^/]+/.exec(specifier)?.[0];
      if (pkg !== undefined && pkg !== workspace.name && !allowedPackages.has(pkg)) {
        const lists = runtime ? 'dependencies or optionalDependencies' : 'dependencies, optionalDependencies or devDependencies';
        context.report({ node, messageId: 'undeclared', data: { workspace: folder, part: runtime ? part : 'tests', pkg, lists } });
        return;
      }
      if (!folderAllows || (!specifier.startsWith('.') && pkg !== workspace.name)) return;
      const to = targetFolder(specifier);
      if (to === undefined || to === fromFolder || folderAllows.includes(to)) return;
      context.report({ node, messageId: 'folder', data: { from: fromFolder, to, allowed: folderAllows.join(', ') || 'none of its sibling folders' } });
    };

    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
      TSImportType: (node) => node.source && check(node.source, node.source.value),
    };
  },
};

export const dependencyPlugin = { meta: { name: 'kiosk-dependency-direction' }, rules: { 'dependency-direction': dependencyDirection } };
