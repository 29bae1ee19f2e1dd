import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  OutboundHttp,
  OutboundHttpClient,
  TokenCache,
} from '@app/gateway-sdk';
import { GenesysPureEngageGateway } from './genesys-pureengage.gateway';
import { GENESYS_PUREENGAGE_SETTINGS } from './genesys-pureengage.settings';

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
  /** What the gateway's calls go through. */
  http: OutboundHttp = testHttp;

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
      http: this.http,
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

/** The service's outbound HTTP as the tests use it: the simulators are on the loopback. */
export const testHttp = new OutboundHttpClient({ allowPrivateNetworks: true });

/**
 * Outbound HTTP that rewrites the JSON answers of matching URLs (a GMS, or a proxy before it, that omits fields or
 * sends malformed items); everything else as `testHttp` answers it.
 */
export function rewritingHttp(rewrite: (url: string, body: Record<string, unknown>) => unknown, match: (url: string) => boolean = () => true): OutboundHttp {
  const rewritten = (url: string, status: number, text: string): { status: number; text: string } => {
    const result = rewrite(url, JSON.parse(text) as Record<string, unknown>);
    return { status, text: typeof result === 'string' ? result : JSON.stringify(result) };
  };
  return {
    fetch: async (input, init) => {
      const url = String(input);
      const response = await testHttp.fetch(url, init);
      if (!match(url) || !(response.headers.get('content-type') ?? '').includes('json')) return response;
      const { status, text } = rewritten(url, response.status, await response.text());
      return new Response(text, { status, headers: { 'content-type': 'application/json' } });
    },
    send: async (request) => {
      const answer = await testHttp.send(request);
      if (!match(request.url) || !answer.body || !(answer.header('content-type') ?? '').includes('json')) return answer;
      const { text } = rewritten(request.url, answer.status, answer.body.toString('utf8'));
      return { ...answer, header: (name) => (name.toLowerCase() === 'content-type' ? 'application/json' : answer.header(name)), body: Buffer.from(text) };
    },
  };
}

/** The events' types, in order. */
export function types(events: PlatformEvent[]): string[] {
  return events.map((event) => event.type);
}
