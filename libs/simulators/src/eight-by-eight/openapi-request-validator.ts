import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/** 8x8's Chat Gateway v1 OpenAPI document as published, kept unchanged in the repository (relative to its root). */
export const OAS_DOCUMENT = path.join('libs', 'simulators', 'src', 'eight-by-eight', 'oas', 'contact-center-chat-gateway-v1.oas.yml');

/** A request as the validator sees it. */
export interface OasRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query?: URLSearchParams;
  headers?: Record<string, string | string[] | undefined>;
  /** The raw body (JSON bodies are parsed here). */
  body?: Buffer | string;
  /** Multipart fields, file parts given as field name -> file name. Without it a multipart body is not checked. */
  form?: Record<string, string>;
}

/** One way a request departs from the document. */
export interface OasViolation {
  method: string;
  path: string;
  operationId?: string;
  location: 'operation' | 'security' | 'path' | 'query' | 'header' | 'content-type' | 'body';
  message: string;
}

/** The operation a request matched. */
export interface OasOperationMatch {
  operationId?: string;
  template: string;
  pathParams: Record<string, string>;
}

type JsonObject = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonObject;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  literalSegments: number;
  operationId?: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonObject }> };
  security: Array<Record<string, string[]>>;
}

const ROOT_ID = 'oas-document';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
// OpenAPI 3.0 keywords that are not JSON Schema (or only annotations ajv would reject in strict mode).
const DROPPED_KEYWORDS = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator', 'deprecated', 'nullable']);
// Keywords whose value is a map of names to schemas: the names are data, not keywords.
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);
// Keywords whose value is data, copied verbatim.
const VERBATIM = new Set(['enum', 'const', 'default', 'required']);

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Turns an OpenAPI 3.0 schema into JSON Schema that ajv accepts, and mends the quirks of 8x8's document:
 * - `nullable: true` becomes a `null` type; OAS-only keywords and `x-` extensions (`x-extensible-enum`: open, so not
 *   enforced) are dropped; boolean `exclusiveMinimum/Maximum` become numbers.
 * - `maxProperties`/`maxLength` written on arrays (additionalProperties "max 30", history "max 200") mean `maxItems`.
 * - WebHook create/put list `notificationVersion` as required but define `version`: either name satisfies it.
 */
export function normalizeOasSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalizeOasSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || DROPPED_KEYWORDS.has(key)) continue;
    if (key === '$ref' && typeof value === 'string') out.$ref = value.startsWith('#/') ? `${ROOT_ID}${value}` : value;
    else if (SCHEMA_MAPS.has(key) && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, normalizeOasSchema(schema)]));
    else if (VERBATIM.has(key)) out[key] = value;
    else out[key] = normalizeOasSchema(value);
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[flag] === 'boolean') {
      if (out[flag] === true && typeof out[bound] === 'number') out[flag] = out[bound];
      else delete out[flag];
      if (typeof out[flag] === 'number') delete out[bound];
    }
  }
  if (out.type === 'array') {
    for (const misplaced of ['maxProperties', 'maxLength']) {
      if (typeof out[misplaced] === 'number') {
        out.maxItems ??= out[misplaced];
        delete out[misplaced];
      }
    }
  }
  const properties = isObject(out.properties) ? out.properties : {};
  if (Array.isArray(out.required) && out.required.includes('notificationVersion') && !('notificationVersion' in properties)) {
    out.required = out.required.filter((name) => name !== 'notificationVersion');
    const either = { anyOf: [{ required: ['version'] }, { required: ['notificationVersion'] }] };
    out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), either];
  }
  return out;
}

function hasUnescapedQuote(text: string): boolean {
  return /(^|[^\\])(\\\\)*"/.test(text);
}

/**
 * Indents the continuation lines of multi-line double-quoted scalars that sit at (or left of) their key's column.
 * 8x8's document has one (the `Language` description); lenient parsers take it, the `yaml` package does not.
 */
export function indentFlowScalarContinuations(text: string): string {
  const lines = text.split('\n');
  let keyIndent: number | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (keyIndent === undefined) {
      const opening = /^(\s*)(?:- )?[^\s#"'][^:]*:\s+"(.*)$/.exec(line);
      if (opening && !hasUnescapedQuote(opening[2])) keyIndent = opening[1].length;
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (line.trim() !== '' && indent <= keyIndent) lines[index] = ' '.repeat(keyIndent + 2) + line.trimStart();
    if (hasUnescapedQuote(line)) keyIndent = undefined;
  }
  return lines.join('\n');
}

/**
 * Parses YAML after {@link indentFlowScalarContinuations}, falling back to the untouched text if the repaired one
 * fails. Repairing first changes nothing in a valid document and spares 8x8's, which needs it, a second slow parse.
 */
export function parseLenientYaml(text: string): unknown {
  try {
    return parseYaml(indentFlowScalarContinuations(text));
  } catch {
    return parseYaml(text);
  }
}

function createAjv(coerceTypes: boolean): Ajv {
  // strict off: the document puts keywords where JSON Schema ignores them (`required` inside a string property).
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false, coerceTypes: coerceTypes ? 'array' : false });
  addFormats(ajv);
  // `format: string` is all over 8x8's document and means nothing.
  ajv.addFormat('string', true);
  return ajv;
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || '(root)';
  const extra = error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
  return `${where} ${error.message ?? error.keyword}${extra}`;
}

/**
 * Validates requests against an OpenAPI 3.0 document (8x8's Chat Gateway one by default): the operation exists,
 * the security header is there, required and typed parameters, the content type, and the JSON (or multipart)
 * body against the request schema. Schemas compile lazily and are cached.
 */
export class OpenApiRequestValidator {
  private static readonly loaded = new Map<string, { mtimeMs: number; validator: OpenApiRequestValidator }>();
  private readonly operations: Operation[] = [];
  private readonly ajv = createAjv(false);
  private readonly coercing = createAjv(true);
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly securitySchemes: Record<string, JsonObject>;

  constructor(private readonly document: JsonObject) {
    const components = isObject(document.components) ? document.components : {};
    const root = { $id: ROOT_ID, components: { schemas: normalizeOasSchema(components.schemas ?? {}) } };
    this.ajv.addSchema(root);
    this.coercing.addSchema(root);
    this.securitySchemes = (isObject(components.securitySchemes) ? components.securitySchemes : {}) as Record<string, JsonObject>;
    this.indexOperations();
  }

  /**
   * `EIGHT_BY_EIGHT_OAS_PATH`, else the copy of 8x8's document kept in the repository (`OAS_DOCUMENT`), found by
   * walking up from this file so it is found from the sources (tests) and from `dist/` (the build copies no YAML).
   */
  static defaultDocumentPath(): string {
    if (process.env.EIGHT_BY_EIGHT_OAS_PATH) return process.env.EIGHT_BY_EIGHT_OAS_PATH;
    for (let dir = __dirname; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, OAS_DOCUMENT);
      if (existsSync(candidate)) return candidate;
      if (path.dirname(dir) === dir) return path.resolve(OAS_DOCUMENT);
    }
  }

  /** Loads a YAML or JSON document; throws when it is missing. Instances are shared per file (they hold no request state). */
  static fromFile(file = OpenApiRequestValidator.defaultDocumentPath()): OpenApiRequestValidator {
    const resolved = path.resolve(file);
    const { mtimeMs } = statSync(resolved);
    const cached = OpenApiRequestValidator.loaded.get(resolved);
    if (cached && cached.mtimeMs === mtimeMs) return cached.validator;
    const text = readFileSync(resolved, 'utf8');
    const document = (resolved.endsWith('.json') ? JSON.parse(text) : parseLenientYaml(text)) as JsonObject;
    const validator = new OpenApiRequestValidator(document);
    OpenApiRequestValidator.loaded.set(resolved, { mtimeMs, validator });
    return validator;
  }

  findOperation(method: string, requestPath: string): OasOperationMatch | undefined {
    const operation = this.match(method, requestPath).operation;
    return operation && { operationId: operation.operationId, template: operation.template, pathParams: this.pathParams(operation, requestPath) };
  }

  validate(request: OasRequest): OasViolation[] {
    const method = request.method.toUpperCase();
    const violations: OasViolation[] = [];
    const { operation, allowed } = this.match(method, request.path);
    const report = (location: OasViolation['location'], message: string) =>
      violations.push({ method, path: request.path, operationId: operation?.operationId, location, message });
    if (!operation) {
      report('operation', allowed.length > 0 ? `${method} is not defined for this path (allowed: ${allowed.join(', ')})` : `no operation matches ${method} ${request.path}`);
      return violations;
    }
    const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    this.checkSecurity(operation, headers, report);
    this.checkParameters(operation, request, headers, report);
    this.checkBody(operation, request, headers, report);
    return violations;
  }

  private indexOperations(): void {
    const paths = isObject(this.document.paths) ? this.document.paths : {};
    for (const [template, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      const names: string[] = [];
      const segments = template.split('/');
      const source = segments
        .map((segment) => {
          const param = /^\{(.+)\}$/.exec(segment);
          if (param) {
            names.push(param[1]);
            return '([^/]+)';
          }
          return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/');
      const shared = Array.isArray(item.parameters) ? item.parameters : [];
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (!isObject(operation)) continue;
        const own = (Array.isArray(operation.parameters) ? operation.parameters : []).map((parameter) => this.resolve(parameter) as Parameter);
        const inherited = shared.map((parameter) => this.resolve(parameter) as Parameter).filter((parameter) => !own.some((candidate) => candidate.name === parameter.name && candidate.in === parameter.in));
        this.operations.push({
          method: method.toUpperCase(),
          template,
          pattern: new RegExp(`^${source}/?$`),
          names,
          literalSegments: segments.length - names.length,
          operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
          parameters: [...own, ...inherited],
          requestBody: operation.requestBody === undefined ? undefined : (this.resolve(operation.requestBody) as Operation['requestBody']),
          security: (Array.isArray(operation.security) ? operation.security : Array.isArray(this.document.security) ? this.document.security : []) as Operation['security'],
        });
      }
    }
  }

  /** Follows a local `$ref` (parameters and request bodies are not schemas, so ajv does not resolve them). */
  private resolve(node: unknown): unknown {
    if (!isObject(node) || typeof node.$ref !== 'string' || !node.$ref.startsWith('#/')) return node;
    const target = node.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((value, key) => (isObject(value) ? value[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), this.document);
    if (target === undefined) throw new Error(`Unresolvable $ref ${node.$ref}`);
    return this.resolve(target);
  }

  private match(method: string, requestPath: string): { operation?: Operation; allowed: string[] } {
    const candidates = this.operations.filter((operation) => operation.pattern.test(requestPath));
    // A literal segment beats a parameter: POST /webhooks/verify is not POST /webhooks/{webhookId}.
    const best = candidates
      .filter((operation) => operation.method === method)
      .sort((a, b) => b.literalSegments - a.literalSegments)[0];
    return { operation: best, allowed: [...new Set(candidates.map((operation) => operation.method))] };
  }

  private pathParams(operation: Operation, requestPath: string): Record<string, string> {
    const match = operation.pattern.exec(requestPath);
    return Object.fromEntries(operation.names.map((name, index) => [name, decodeURIComponent(match?.[index + 1] ?? '')]));
  }

  private checkSecurity(operation: Operation, headers: Record<string, unknown>, report: (location: OasViolation['location'], message: string) => void): void {
    if (operation.security.length === 0) return;
    const satisfied = (scheme: string): boolean => {
      const definition = this.securitySchemes[scheme];
      if (!definition) return true;
      if (definition.type === 'apiKey' && definition.in === 'header') return headers[String(definition.name).toLowerCase()] !== undefined;
      if (definition.type === 'http' || definition.type === 'oauth2' || definition.type === 'openIdConnect') return headers.authorization !== undefined;
      return true;
    };
    if (operation.security.some((requirement) => Object.keys(requirement).every(satisfied))) return;
    const needed = operation.security.flatMap((requirement) => Object.keys(requirement)).map((scheme) => {
      const definition = this.securitySchemes[scheme];
      return definition?.type === 'apiKey' ? `${String(definition.name)} ${String(definition.in)}` : scheme;
    });
    report('security', `missing credentials: ${needed.join(' or ')}`);
  }

  private checkParameters(
    operation: Operation,
    request: OasRequest,
    headers: Record<string, string | string[] | undefined>,
    report: (location: OasViolation['location'], message: string) => void,
  ): void {
    const pathParams = this.pathParams(operation, request.path);
    for (const parameter of operation.parameters) {
      if (parameter.in === 'cookie') continue;
      let values: string[];
      if (parameter.in === 'path') values = pathParams[parameter.name] === undefined ? [] : [pathParams[parameter.name]];
      else if (parameter.in === 'query') values = request.query?.getAll(parameter.name) ?? [];
      else {
        const value = headers[parameter.name.toLowerCase()];
        values = value === undefined ? [] : Array.isArray(value) ? value : [value];
      }
      if (values.length === 0) {
        if (parameter.required || parameter.in === 'path') report(parameter.in, `missing required ${parameter.in} parameter ${parameter.name}`);
        continue;
      }
      if (!parameter.schema) continue;
      const schema = normalizeOasSchema(parameter.schema) as JsonObject;
      const validate = this.compile(this.coercing, `param:${operation.method} ${operation.template}:${parameter.in}:${parameter.name}`, {
        type: 'object',
        properties: { value: schema },
      });
      const data = { value: schema.type === 'array' ? values.flatMap((value) => value.split(',')) : values[0] };
      if (!validate(data)) {
        for (const error of validate.errors ?? []) report(parameter.in, `${parameter.in} parameter ${parameter.name} ${error.message ?? 'is invalid'}`);
      }
    }
  }

  private checkBody(
    operation: Operation,
    request: OasRequest,
    headers: Record<string, string | string[] | undefined>,
    report: (location: OasViolation['location'], message: string) => void,
  ): void {
    const raw = request.body === undefined ? '' : request.body.toString();
    const hasBody = raw.length > 0 || request.form !== undefined;
    const contentType = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const declared = operation.requestBody;
    if (!declared) {
      if (hasBody) report('body', 'the operation defines no request body');
      return;
    }
    if (!hasBody) {
      if (declared.required && !contentType.startsWith('multipart/')) report('body', 'request body is required');
      return;
    }
    const media = declared.content?.[contentType];
    if (!media) {
      report('content-type', `content type '${contentType || '(none)'}' is not one of ${Object.keys(declared.content ?? {}).join(', ')}`);
      return;
    }
    let data: unknown;
    if (request.form !== undefined) data = request.form;
    else if (contentType.endsWith('json')) {
      try {
        data = JSON.parse(raw);
      } catch (error) {
        report('body', `body is not valid JSON: ${(error as Error).message}`);
        return;
      }
    } else return;
    if (!media.schema) return;
    const validate = this.compile(this.ajv, `body:${operation.method} ${operation.template}:${contentType}`, normalizeOasSchema(media.schema) as JsonObject);
    if (!validate(data)) {
      for (const message of new Set((validate.errors ?? []).map(describe))) report('body', message);
    }
  }

  private compile(ajv: Ajv, key: string, schema: JsonObject): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = ajv.compile(schema);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}
