import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { KioskError } from '@kiosk/common';
import { readContract, UPSTREAMS, CONTRACTS_DIR, type OpenApiDocument, type UpstreamName } from './documents.js';

/** An HTTP request as the relay sends it: the path is relative to the upstream's configured base URL. */
export interface ContractRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

export interface ContractResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** One broken rule: where (a JSON pointer into `{ path, headers, body, status }`) and what. */
export interface ContractProblem {
  pointer: string;
  message: string;
}

interface Param {
  name: string;
  required: boolean;
  validate: ValidateFunction;
  numeric: boolean;
}

interface Body {
  required: boolean;
  media: Map<string, ValidateFunction>;
}

interface Operation {
  id: string;
  method: string;
  template: string;
  pattern: RegExp;
  pathParams: Param[];
  headers: Param[];
  body: Body | undefined;
  responses: Map<string, { headers: Param[]; body: Body | undefined }>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
/** Keywords OpenAPI 3.1 adds to JSON Schema 2020-12: annotations for us, not assertions. */
const OPENAPI_VOCABULARY = ['example', 'discriminator', 'xml', 'externalDocs'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Follows local `$ref`s (`#/components/...`) of parameters, headers, responses and request bodies. */
function deref(document: OpenApiDocument, value: unknown): Json {
  let current = value;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
    const ref = current.$ref;
    if (hops > 10 || !ref.startsWith('#/')) throw new KioskError('CONTRACT_INVALID', `unsupported reference ${ref}`);
    current = ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), document);
  }
  if (!isObject(current)) throw new KioskError('CONTRACT_INVALID', 'a reference in the contract leads nowhere');
  return current;
}

/** Schema references point into the schema registered for the document's components (see compile below). */
function rebaseRefs(schema: unknown, base: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => rebaseRefs(s, base));
  if (!isObject(schema)) return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ? `${base}#/$defs/${v.slice(21)}` : rebaseRefs(v, base)]));
}

const problemsOf = (errors: ErrorObject[] | null | undefined, prefix: string): ContractProblem[] =>
  (errors ?? []).map((e) => ({ pointer: `${prefix}${e.instancePath}`, message: e.message ?? e.keyword }));

/** Header values are text: a header the contract types as a number is compared as one when it reads as one. */
function headerValue(param: Param, raw: string): unknown {
  return param.numeric && /^-?\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : raw;
}

const mediaType = (headers: Record<string, string>): string | undefined => lowerKeys(headers)['content-type']?.split(';')[0]?.trim().toLowerCase();

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

class CompiledContract {
  readonly operations: Operation[] = [];
  private readonly base: string;

  constructor(readonly name: UpstreamName, readonly document: OpenApiDocument, private readonly ajv: Ajv2020) {
    this.base = `urn:kiosk:contract:${name}`;
    ajv.addSchema({ $id: this.base, $defs: document.components?.schemas ? rebaseRefs(document.components.schemas, this.base) : {} });
    for (const [template, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (isObject(op)) this.operations.push(this.operation(template, method, op));
      }
    }
  }

  private schema(schema: unknown): ValidateFunction {
    return this.ajv.compile(rebaseRefs(schema ?? {}, this.base) as object);
  }

  private param(raw: Json, name: string): Param {
    const schema = (raw.schema ?? {}) as Json;
    const resolved = typeof schema.$ref === 'string' ? deref(this.document, schema) : schema;
    return { name, required: raw.required === true, validate: this.schema(schema), numeric: resolved.type === 'integer' || resolved.type === 'number' };
  }

  private body(raw: unknown): Body | undefined {
    if (raw === undefined) return undefined;
    const body = deref(this.document, raw);
    const content = isObject(body.content) ? body.content : {};
    return { required: body.required !== false, media: new Map(Object.entries(content).map(([type, m]) => [type, this.schema(isObject(m) ? m.schema : undefined)])) };
  }

  private operation(template: string, method: string, op: Json): Operation {
    const params = (Array.isArray(op.parameters) ? op.parameters : []).map((p) => deref(this.document, p));
    const names: string[] = [];
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    const responses = new Map<string, { headers: Param[]; body: Body | undefined }>();
    for (const [status, raw] of Object.entries(isObject(op.responses) ? op.responses : {})) {
      const response = deref(this.document, raw);
      const headers = Object.entries(isObject(response.headers) ? response.headers : {}).map(([name, h]) => this.param(deref(this.document, h), name.toLowerCase()));
      responses.set(status, { headers, body: response.content === undefined ? undefined : this.body({ content: response.content }) });
    }
    return {
      id: typeof op.operationId === 'string' ? op.operationId : `${method} ${template}`,
      method: method.toUpperCase(),
      template,
      pattern,
      pathParams: names.map((n) => this.param(params.find((p) => p.in === 'path' && p.name === n) ?? { required: true }, n)),
      headers: params.filter((p) => p.in === 'header').map((p) => this.param(p, String(p.name).toLowerCase())),
      body: this.body(op.requestBody),
      responses,
    };
  }

  find(method: string, path: string): { op: Operation; values: string[] } | undefined {
    const bare = path.split('?')[0] ?? path;
    for (const op of this.operations) {
      const m = op.method === method.toUpperCase() ? op.pattern.exec(bare) : null;
      if (m) return { op, values: m.slice(1) };
    }
    return undefined;
  }
}

function checkHeaders(params: Param[], headers: Record<string, string>, problems: ContractProblem[]): void {
  const given = lowerKeys(headers);
  for (const param of params) {
    const raw = given[param.name];
    if (raw === undefined) {
      if (param.required) problems.push({ pointer: `/headers/${param.name}`, message: 'required header is missing' });
    } else if (!param.validate(headerValue(param, raw))) problems.push(...problemsOf(param.validate.errors, `/headers/${param.name}`));
  }
}

function checkBody(body: Body | undefined, headers: Record<string, string>, value: unknown, problems: ContractProblem[]): void {
  if (!body) return;
  if (value === undefined) {
    if (body.required) problems.push({ pointer: '/body', message: 'a body is required' });
    return;
  }
  const type = mediaType(headers) ?? (body.media.size === 1 ? [...body.media.keys()][0] : undefined);
  const validate = type === undefined ? undefined : body.media.get(type);
  if (!validate) {
    problems.push({ pointer: '/headers/content-type', message: `must be one of ${[...body.media.keys()].join(', ')}` });
    return;
  }
  if (!validate(value)) problems.push(...problemsOf(validate.errors, '/body'));
}

function violation(contract: string, operation: string, direction: 'request' | 'response', problems: ContractProblem[]): KioskError {
  const first = problems[0] ?? { pointer: '', message: 'invalid' };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new KioskError('CONTRACT_VIOLATION', `${contract} ${operation} ${direction}: ${first.pointer || '/'} ${first.message}${more}`, {
    details: { contract, operation, direction, pointer: first.pointer, problems: problems.slice(0, 20) },
  });
}

/**
 * The four upstream contracts, loaded once and compiled: requests the relay builds and answers upstreams give
 * are checked against them. Every refusal is CONTRACT_VIOLATION with the JSON pointer of what broke; the
 * messages name rules and fields, never the values (they may be personal data).
 */
export class Contracts {
  private constructor(private readonly contracts: Map<UpstreamName, CompiledContract>) {}

  static async load(dir = CONTRACTS_DIR): Promise<Contracts> {
    const ajv = new Ajv2020({ allErrors: true, strictTypes: false, strictTuples: false, allowUnionTypes: true });
    // ajv-formats is CommonJS: its plugin is the module's `default` under NodeNext typing (and at run time).
    formatsModule.default(ajv);
    ajv.addVocabulary(OPENAPI_VOCABULARY);
    const compiled = new Map<UpstreamName, CompiledContract>();
    for (const name of UPSTREAMS) compiled.set(name, new CompiledContract(name, await readContract(name, dir), ajv));
    return new Contracts(compiled);
  }

  document(upstream: UpstreamName): OpenApiDocument {
    return this.contract(upstream).document;
  }

  private contract(upstream: string): CompiledContract {
    const contract = this.contracts.get(upstream as UpstreamName);
    if (!contract) throw new KioskError('CONTRACT_VIOLATION', `no contract for upstream "${upstream}"`, { details: { contract: upstream, pointer: '' } });
    return contract;
  }

  private operation(upstream: string, method: string, path: string, direction: 'request' | 'response'): { op: Operation; values: string[] } {
    const found = this.contract(upstream).find(method, path);
    if (!found) throw violation(upstream, `${method} ${path.split('?')[0] ?? ''}`, direction, [{ pointer: '/path', message: 'no operation of the contract has this method and path' }]);
    return found;
  }

  /** Checks method, path, headers and body; answers the operation's id. */
  validateRequest(upstream: UpstreamName, request: ContractRequest): string {
    const { op, values } = this.operation(upstream, request.method, request.path, 'request');
    const problems: ContractProblem[] = [];
    op.pathParams.forEach((param, i) => {
      let value: string;
      try {
        value = decodeURIComponent(values[i] ?? '');
      } catch {
        problems.push({ pointer: `/path/${param.name}`, message: 'is not valid percent-encoding' });
        return;
      }
      if (!param.validate(value)) problems.push(...problemsOf(param.validate.errors, `/path/${param.name}`));
    });
    checkHeaders(op.headers, request.headers, problems);
    checkBody(op.body, request.headers, request.body, problems);
    if (problems.length > 0) throw violation(upstream, op.id, 'request', problems);
    return op.id;
  }

  /** Checks that the status is one the operation declares, and the answer's headers and body. */
  validateResponse(upstream: UpstreamName, request: Pick<ContractRequest, 'method' | 'path'>, response: ContractResponse): void {
    const { op } = this.operation(upstream, request.method, request.path, 'response');
    const declared = op.responses.get(String(response.status)) ?? op.responses.get('default');
    if (!declared) throw violation(upstream, op.id, 'response', [{ pointer: '/status', message: `status ${response.status} is not one the contract declares` }]);
    const problems: ContractProblem[] = [];
    checkHeaders(declared.headers, response.headers, problems);
    checkBody(declared.body, response.headers, response.body, problems);
    if (problems.length > 0) throw violation(upstream, op.id, 'response', problems);
  }
}
