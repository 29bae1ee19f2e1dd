import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import {
  AttachmentRef,
  EscalationContext,
  EscalationRequest,
  fetchLinkUnder,
  PlatformEvent,
  PlatformSession,
  PlatformUpdate,
  SETTINGS_GROUPS,
  SettingsValues,
  StartResult,
  MemoryTokenCache,
  TokenCache,
} from '@app/gateway-sdk';
import { GenesysPureEngageGateway } from './genesys-pureengage.gateway';
import { GENESYS_PUREENGAGE_SETTINGS } from './genesys-pureengage.settings';
import { HttpFetch } from './gms.types';

/** Settings as the service hands them over: every declared default applied, then the test's values. */
export function testSettings(overrides: Partial<Record<keyof SettingsValues, Record<string, unknown>>> = {}): SettingsValues {
  const values = {} as SettingsValues;
  for (const group of SETTINGS_GROUPS) {
    values[group] = {};
    for (const [name, field] of Object.entries(GENESYS_PUREENGAGE_SETTINGS[group])) if (field.default !== undefined) values[group][name] = field.default;
    Object.assign(values[group], overrides[group] ?? {});
  }
  return values;
}

export interface LoggedLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

/**
 * One escalation as the service would drive it: a fresh context per call (settings, token cache, abort signal), the
 * session merged from every update, the cursor stored after every poll.
 */
export class TestEscalation {
  session: PlatformSession | null = null;
  cursor: string | null = null;
  readonly log: LoggedLine[] = [];
  readonly attachments = new Map<string, Buffer>();
  timeoutMs = 5000;

  constructor(
    readonly gateway: GenesysPureEngageGateway,
    public settings: SettingsValues,
    readonly tokens: TokenCache = new MemoryTokenCache(),
  ) {}

  context(): EscalationContext {
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => this.log.push({ level, message, fields });
    return {
      gatewayId: 'gw-test',
      escalationId: 'esc-test',
      settings: this.settings,
      provisioning: {},
      webhookUrl: 'http://127.0.0.1/unused',
      logger: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
      signal: AbortSignal.timeout(this.timeoutMs),
      tokens: this.tokens,
      session: this.session,
      readAttachment: async (ref: AttachmentRef) => {
        const content = ref.id ? this.attachments.get(ref.id) : undefined;
        if (!content) throw new Error(`no attachment ${ref.id}`);
        return content;
      },
      // As the service fetches links (the simulator is on loopback); GMS hands over file ids, not links.
      fetchLink: (url, maxBytes) => fetchLinkUnder({ allowPrivateNetworks: true, timeoutMs: this.timeoutMs }, url, maxBytes),
    };
  }

  get warnings(): LoggedLine[] {
    return this.log.filter((line) => line.level === 'warn');
  }

  async start(request: EscalationRequest): Promise<StartResult> {
    const result = await this.gateway.startEscalation(this.context(), request);
    this.session = result.session;
    this.cursor = result.cursor ?? null;
    return result;
  }

  async poll(): Promise<PlatformEvent[]> {
    const update = this.apply(await this.gateway.poll(this.context(), this.cursor));
    if (update.cursor !== undefined) this.cursor = update.cursor;
    return update.events;
  }

  /** Polls until the events seen so far satisfy the predicate (the simulator appends synchronously, so one poll usually does). */
  async pollUntil(done: (events: PlatformEvent[]) => boolean, attempts = 20): Promise<PlatformEvent[]> {
    const all: PlatformEvent[] = [];
    for (let i = 0; i < attempts; i++) {
      all.push(...(await this.poll()));
      if (done(all)) return all;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`condition not met; events: ${JSON.stringify(all.map((e) => [e.type, e.key]))}`);
  }

  apply(update: PlatformUpdate): PlatformUpdate {
    if (update.session) this.session = { ...this.session, ...update.session };
    return update;
  }
}

/** A minimal escalation request. */
export function escalationRequest(overrides: Partial<EscalationRequest> = {}): EscalationRequest {
  return {
    escalationId: 'esc-1',
    conversation: { externalId: 'conv-1', channel: 'webchat' },
    user: { firstName: 'Jo', lastName: 'Client', name: 'Jo C.', email: 'jo@example.com' },
    attributes: {},
    history: [],
    ...overrides,
  };
}

/** A self-signed certificate and its key (openssl), e.g. the simulator's TLS identity or the client certificate. */
export function selfSigned(dir: string, name: string, subjectAltName?: string): { key: string; cert: string } {
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', `/CN=${name}`];
  if (subjectAltName) args.push('-addext', `subjectAltName=${subjectAltName}`);
  execFileSync('openssl', args, { stdio: 'ignore' });
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
}

/**
 * An HttpFetch over node:https that trusts one extra CA (the simulator's self-signed certificate). Node 20's global
 * fetch cannot be given a CA without undici, and NODE_EXTRA_CA_CERTS is read only at process start. `Request` does the
 * body encoding (urlencoded, multipart with boundary), so the gateway's requests reach the wire as with fetch.
 */
export function fetchTrusting(ca: string): HttpFetch {
  return async (url, init) => {
    const request = new Request(url, init);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, { method: request.method, headers: Object.fromEntries(request.headers), ca, signal: init.signal ?? undefined }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          const status = res.statusCode ?? 500;
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** Wraps fetch to rewrite JSON answers of matching URLs (a GMS that omits fields or sends malformed items). */
export function rewritingFetch(rewrite: (url: string, body: Record<string, unknown>) => unknown, match: (url: string) => boolean = () => true): HttpFetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!match(url) || !(response.headers.get('content-type') ?? '').includes('json')) return response;
    const body = (await response.json()) as Record<string, unknown>;
    const rewritten = rewrite(url, body);
    const text = typeof rewritten === 'string' ? rewritten : JSON.stringify(rewritten);
    return new Response(text, { status: response.status, headers: { 'content-type': 'application/json' } });
  };
}

/** The events' types, in order. */
export function types(events: PlatformEvent[]): string[] {
  return events.map((event) => event.type);
}
