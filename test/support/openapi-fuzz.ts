/**
 * Builds malformed requests for every operation of an OpenAPI document: path, query and header parameters and
 * bodies turned into what an attacker or a broken client sends. Deterministic for a seed, so a failure found once is
 * found again.
 */

type Schema = Record<string, any>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
  components?: { schemas?: Record<string, Schema> };
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}

/** One request to send: the path as sent (already encoded), the headers, and the raw body. */
export interface FuzzCase {
  operation: string;
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** A small seeded generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Path and query values a parser, a database driver or a number conversion could choke on. */
const BAD_TEXT = [
  '',
  'abc',
  '0',
  '-1',
  '1.5',
  '1e30',
  '9'.repeat(40),
  'NaN',
  'true',
  '%00',
  'a%00b',
  '%C0%AF',
  '%E2%80%AE',
  '..%2F..%2Fetc%2Fpasswd',
  encodeURIComponent('\ud83d\ude00'),
  encodeURIComponent("' OR 1=1 --"),
  encodeURIComponent('{"$gt":""}'),
  'x'.repeat(3000),
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF',
];

/** Header values: the same kinds of trouble, as far as HTTP lets them through. */
const BAD_HEADERS = ['', ' ', '0', '-1', 'evt_', 'evt_99999999999999999999', 'evt_-1', 'W/"x"', '"*"', '*', 'x'.repeat(4000), '\u00ff\u00fe', '1e30'];

/** Values put in place of one body field. */
const BAD_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x'.repeat(70_000),
  [],
  [null],
  {},
  { __proto__: { polluted: true } },
  true,
  '2026-02-30T25:61:00Z',
  '00000000-0000-0000-0000-000000000000',
];

/** Bodies sent whole, whatever the operation expects. */
function badBodies(): { what: string; body: string | Buffer; contentType?: string }[] {
  return [
    { what: 'empty body', body: '' },
    { what: 'not JSON', body: '{"a":' },
    { what: 'JSON null', body: 'null' },
    { what: 'JSON string', body: '"text"' },
    { what: 'JSON number', body: '12' },
    { what: 'JSON array', body: '[1,2,3]' },
    { what: 'nested arrays 5,000 deep', body: '['.repeat(5000) + ']'.repeat(5000) },
    { what: 'nested objects 5,000 deep', body: '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) },
    { what: 'prototype keys', body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}' },
    { what: '10,000 keys', body: JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]))) },
    { what: 'text/plain', body: 'hello', contentType: 'text/plain' },
    { what: 'form-encoded', body: 'a=1&a=2&b[c]=3', contentType: 'application/x-www-form-urlencoded' },
    { what: 'JSON with a bad charset', body: '{}', contentType: 'application/json; charset=utf-7' },
    { what: 'invalid UTF-8', body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
  ];
}

function resolve(doc: OpenApiDocument, schema: Schema | undefined): Schema {
  let current = schema ?? {};
  for (let i = 0; current.$ref && i < 10; i++) current = doc.components?.schemas?.[String(current.$ref).split('/').pop()!] ?? {};
  if (current.allOf?.length === 1 && Object.keys(current).length <= 3) return { ...current, ...resolve(doc, current.allOf[0]), allOf: undefined };
  return current;
}

/** A plausible value for a schema: what a correct client would send, as far as the document says. */
export function sample(doc: OpenApiDocument, raw: Schema | undefined, depth = 0): unknown {
  const schema = resolve(doc, raw);
  if (depth > 6) return undefined;
  if (schema.example !== undefined) return schema.example;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const variant = schema.oneOf?.[0] ?? schema.anyOf?.[0] ?? schema.allOf?.[0];
  if (variant) return sample(doc, variant, depth + 1);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries<Schema>(schema.properties ?? {})) {
        if (resolve(doc, property).readOnly) continue;
        const value = sample(doc, property, depth + 1);
        if (value !== undefined) out[name] = value;
      }
      return out;
    }
    case 'array':
      return [sample(doc, schema.items, depth + 1)].filter((v) => v !== undefined);
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'date-time') return '2026-11-22T10:00:00Z';
      if (schema.format === 'uri' || schema.format === 'url') return 'http://127.0.0.1:9/x';
      return 'text';
    default:
      return schema.properties ? sample(doc, { ...schema, type: 'object' }, depth) : 'text';
  }
}

/** The dotted paths of a sample's fields (objects and the first element of arrays), for field-by-field mutation. */
function fieldPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.length ? [[...prefix, 0], ...fieldPaths(value[0], [...prefix, 0])] : [];
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => [[...prefix, key], ...fieldPaths(child, [...prefix, key])]);
  }
  return [];
}

function withField(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string | number, any>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]] = replacement;
  return copy;
}

function pick<T>(random: () => number, items: T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
  return out;
}

/**
 * Malformed requests for every operation of `doc`, at most about `perOperation` each. `realPath` fills a path
 * template with ids of resources that exist (so that a request gets past the lookup of its resource), or returns
 * undefined to use made-up ids only.
 */
export function fuzzCases(doc: OpenApiDocument, options: { seed: number; perOperation: number; realPath: (method: string, template: string) => string | undefined; skip?: (method: string, template: string) => boolean }): FuzzCase[] {
  const random = seededRandom(options.seed);
  const cases: FuzzCase[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op || options.skip?.(method, template)) continue;
      const operation = `${method.toUpperCase()} ${template}`;
      const parameters = (op.parameters ?? []) as Parameter[];
      const real = options.realPath(method, template);
      const madeUp = template.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      const basePath = real ?? madeUp;
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const baseBody = schema ? sample(doc, schema) : undefined;
      const jsonHeaders: Record<string, string> = schema ? { 'content-type': 'application/json' } : {};
      const requiredHeaders: Record<string, string> = {};
      for (const p of parameters) if (p.in === 'header' && p.required) requiredHeaders[p.name.toLowerCase()] = `fuzz-${Math.floor(random() * 1e9)}`;
      const base = (what: string, changes: Partial<FuzzCase>): FuzzCase => ({
        operation,
        what,
        method: method.toUpperCase(),
        path: basePath,
        headers: { ...jsonHeaders, ...requiredHeaders },
        body: baseBody === undefined ? undefined : JSON.stringify(baseBody),
        ...changes,
      });
      const own: FuzzCase[] = [base('as documented', {})];

      // Each path parameter malformed, the others real.
      for (const p of parameters.filter((candidate) => candidate.in === 'path')) {
        for (const bad of BAD_TEXT) {
          const path = template.replace(/\{([^}]+)\}/g, (whole, name: string) => (name === p.name ? bad : (real ? segment(real, template, name) : '00000000-0000-4000-8000-000000000000')));
          own.push(base(`path ${p.name}=${bad.slice(0, 40)}`, { path }));
        }
      }
      // Each query parameter malformed, repeated, or given as an object.
      for (const p of parameters.filter((candidate) => candidate.in === 'query')) {
        for (const bad of BAD_TEXT) own.push(base(`query ${p.name}=${bad.slice(0, 40)}`, { path: `${basePath}?${p.name}=${bad}` }));
        own.push(base(`query ${p.name} repeated`, { path: `${basePath}?${p.name}=1&${p.name}=2` }));
        own.push(base(`query ${p.name} as an object`, { path: `${basePath}?${p.name}[a]=1` }));
      }
      // Each header parameter malformed.
      for (const p of parameters.filter((candidate) => candidate.in === 'header')) {
        for (const bad of BAD_HEADERS) own.push(base(`header ${p.name}=${bad.slice(0, 40)}`, { headers: { ...jsonHeaders, ...requiredHeaders, [p.name.toLowerCase()]: bad } }));
      }
      // The body: wrong as a whole, then one field at a time.
      if (schema || method !== 'get') {
        for (const bad of badBodies()) {
          own.push(base(`body: ${bad.what}`, { headers: { ...requiredHeaders, 'content-type': bad.contentType ?? 'application/json' }, body: bad.body }));
        }
      }
      if (baseBody !== undefined) {
        const paths = fieldPaths(baseBody);
        for (const fieldPath of pick(random, paths, Math.min(paths.length, 12))) {
          for (const bad of pick(random, BAD_VALUES, 3)) {
            own.push(base(`body ${fieldPath.join('.')}=${JSON.stringify(bad)?.slice(0, 40)}`, { body: JSON.stringify(withField(baseBody, fieldPath, bad)) }));
          }
        }
      }
      cases.push(...own.slice(0, 1), ...pick(random, own.slice(1), options.perOperation - 1));
    }
  }
  return cases;
}

/** The value a filled path has where its template has `{name}`. */
function segment(filled: string, template: string, name: string): string {
  const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)')}$`);
  const match = pattern.exec(filled);
  return match?.[names.indexOf(name) + 1] ?? '00000000-0000-4000-8000-000000000000';
}
