import { z } from 'zod';
import { envNameFor } from './config.js';
import { configSchema } from './config-schema.js';

interface JsonSchemaNode {
  type?: string;
  enum?: unknown[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  properties?: Record<string, JsonSchemaNode>;
}

function typeOf(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  const range = node.minimum !== undefined || node.maximum !== undefined ? ` ${node.minimum ?? ''}..${node.maximum ?? ''}` : '';
  return `${node.type ?? 'any'}${range}`;
}

/** docs/configuration.md, generated from the schema so the two cannot drift (a test compares them). */
export function renderConfigDoc(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchemaNode;
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from common/src/config-schema.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'One JSON file per device (`kiosk.config.json`), read by the kiosk service, the sync agent and the provisioning CLI.',
    'Its path comes from `--config FILE` or `$KIOSK_CONFIG`; without one the development defaults below apply.',
    'Every key can be overridden by an environment variable `KIOSK_<SECTION>_<KEY>` (value parsed as JSON when it',
    'parses, else taken as a string). The file is validated as a whole at start-up; unknown keys are refused.',
    'Check a file with `kiosk-provision config check FILE`; print a starting file with `kiosk-provision config defaults`.',
    '',
  ];
  for (const [section, node] of Object.entries(schema.properties ?? {})) {
    lines.push(`## \`${section}\`: ${node.description ?? ''}`, '', '| key | environment | type | default | meaning |', '|---|---|---|---|---|');
    for (const [key, field] of Object.entries(node.properties ?? {})) {
      lines.push(`| \`${section}.${key}\` | \`${envNameFor(section, key)}\` | ${typeOf(field)} | \`${JSON.stringify(field.default)}\` | ${field.description ?? ''} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
