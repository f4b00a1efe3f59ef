import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { KioskError } from '@kiosk/common';
import { parse } from 'yaml';

/** The upstream contracts, by the name the outbox rows use as their `upstream`. */
export const UPSTREAMS = ['city-tthc', 'population-lgsp', 'hospital-fhir', 'bhyt-check'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];

/** Where the OpenAPI files live (sync-agent/contracts), shipped with the sources. */
export const CONTRACTS_DIR = fileURLToPath(new URL('../../contracts/', import.meta.url));

export const contractFile = (name: UpstreamName, dir = CONTRACTS_DIR): string => `${dir.replace(/\/?$/, '/')}${name}.openapi.yaml`;

/** A parsed OpenAPI document: only the parts the validator walks are typed. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
}

/**
 * Parses an OpenAPI document and checks it against the OpenAPI 3.1 meta-schema. A contract file that is not
 * valid is an installation error, so it is refused at start-up rather than at the first delivery.
 */
export async function parseContract(name: string, text: string): Promise<OpenApiDocument> {
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    throw new KioskError('CONTRACT_INVALID', `contract ${name} is not YAML`, { cause: err, details: { contract: name } });
  }
  // A string would be taken for a file name by the validator: only a mapping can be a document.
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new KioskError('CONTRACT_INVALID', `contract ${name} is not a YAML mapping`, { details: { contract: name } });
  const result = await new Validator().validate(document as Record<string, unknown>);
  if (!result.valid) {
    const errors = Array.isArray(result.errors) ? result.errors.slice(0, 5) : [result.errors];
    throw new KioskError('CONTRACT_INVALID', `contract ${name} is not a valid OpenAPI document`, { details: { contract: name, errors } });
  }
  const openapi = (document as { openapi: string }).openapi;
  if (!openapi.startsWith('3.1.')) throw new KioskError('CONTRACT_INVALID', `contract ${name} is OpenAPI ${openapi}, not 3.1`, { details: { contract: name } });
  return document as OpenApiDocument;
}

export async function readContract(name: UpstreamName, dir = CONTRACTS_DIR): Promise<OpenApiDocument> {
  const file = contractFile(name, dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KioskError('CONTRACT_INVALID', `contract ${name} cannot be read from ${file}`, { cause: err, details: { contract: name } });
  }
  return parseContract(name, text);
}
