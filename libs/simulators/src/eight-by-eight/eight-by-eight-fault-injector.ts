/** What an HTTP fault does to a matching request. */
export type HttpFaultKind = 'error' | 'rate-limit' | 'latency';

/** A fault to inject into the simulator's HTTP API (everything outside `/sim`). */
export interface HttpFaultInput {
  kind: HttpFaultKind;
  /** Status of an `error` (default 503) or a `rate-limit` (default 429). */
  status?: number;
  /** `Retry-After` of a `rate-limit`, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** Added delay of a `latency` fault (default 1000 ms); the request is then answered normally. */
  latencyMs?: number;
  /** How many matching requests it affects (default 1). */
  count?: number;
  /** Regular expression tested against the request path; absent = every path. */
  path?: string;
  /** HTTP method to match; absent = every method. */
  method?: string;
}

/** An armed fault with what is left of it. */
export interface HttpFaultRule {
  id: number;
  kind: HttpFaultKind;
  status?: number;
  retryAfterSeconds?: number;
  latencyMs?: number;
  remaining: number;
  path?: string;
  method?: string;
}

/**
 * Armed HTTP faults, consumed one request at a time. A latency rule and a failure rule can both hit the same request
 * (slow, then 503), so the two are taken separately.
 */
export class HttpFaultInjector {
  private rules: Array<HttpFaultRule & { pattern?: RegExp }> = [];
  private nextId = 1;

  add(input: HttpFaultInput): HttpFaultRule {
    if (!['error', 'rate-limit', 'latency'].includes(input.kind)) throw new Error(`Unknown fault kind ${String(input.kind)}`);
    const count = input.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
    const rule: HttpFaultRule = {
      id: this.nextId++,
      kind: input.kind,
      remaining: count,
      path: input.path,
      method: input.method?.toUpperCase(),
      ...(input.kind === 'error' ? { status: input.status ?? 503 } : {}),
      ...(input.kind === 'rate-limit' ? { status: input.status ?? 429, retryAfterSeconds: input.retryAfterSeconds ?? 1 } : {}),
      ...(input.kind === 'latency' ? { latencyMs: input.latencyMs ?? 1000 } : {}),
    };
    if (rule.status !== undefined && (rule.status < 400 || rule.status > 599)) throw new Error('status must be 4xx or 5xx');
    this.rules.push({ ...rule, pattern: input.path === undefined ? undefined : new RegExp(input.path) });
    return rule;
  }

  /** The latency rule for this request, consumed. */
  takeLatency(method: string, path: string): HttpFaultRule | undefined {
    return this.take(method, path, (rule) => rule.kind === 'latency');
  }

  /** The error or rate-limit rule for this request, consumed. */
  takeFailure(method: string, path: string): HttpFaultRule | undefined {
    return this.take(method, path, (rule) => rule.kind !== 'latency');
  }

  list(): HttpFaultRule[] {
    return this.rules.map(({ pattern: _pattern, ...rule }) => rule);
  }

  clear(): void {
    this.rules = [];
  }

  private take(method: string, path: string, kind: (rule: HttpFaultRule) => boolean): HttpFaultRule | undefined {
    const rule = this.rules.find((candidate) => kind(candidate) && (!candidate.method || candidate.method === method) && (!candidate.pattern || candidate.pattern.test(path)));
    if (!rule) return undefined;
    rule.remaining--;
    if (rule.remaining === 0) this.rules = this.rules.filter((candidate) => candidate !== rule);
    const { pattern: _pattern, ...taken } = rule;
    return taken;
  }
}
