import { createHash } from 'node:crypto';
import { GatewayError, GatewayErrorCode, GatewayLogger, OutboundHttp, OutboundRefused, TokenCache } from '@app/gateway-sdk';
import { EightByEightSettings, metricsTokenUrl } from './eight-by-eight.settings';

/** What the client needs from the gateway context. */
export interface EightByEightCallContext {
  signal: AbortSignal;
  tokens: TokenCache;
  logger: GatewayLogger;
  http: OutboundHttp;
}

/** The HAL list envelope of every Chat Gateway list (8x8 Chat Gateway OpenAPI); no `_embedded` on an empty page. */
export interface HalPage<T> {
  items: T[];
  /** Total pages as 8x8 reports them (1 when it does not say). */
  totalPages: number;
}

/** WebHook (8x8 Chat Gateway OpenAPI). */
export interface WebhookResource {
  id: string;
  name?: string;
  uri?: string;
  version?: string;
}

/** Channel (8x8 Chat Gateway OpenAPI). */
export interface ChannelResource {
  id: string;
  name?: string;
  type?: string;
  webHookId?: string;
  routingOptions?: { type?: string; id?: string };
}

/** A file to upload to a conversation. */
export interface UploadFile {
  name: string;
  mimeType: string;
  content: Buffer;
}

/** Whether a 404 means the escalation's conversation is gone or just that something is missing. */
export type Scope = 'conversation' | 'account';

type Json = Record<string, unknown>;

interface CallOptions {
  json?: unknown;
  form?: FormData;
  scope?: Scope;
}

export const CHAT_GATEWAY_PATH = '/chat-gateway/v1';
/** The webhook `version` the Chat Gateway API insists on (8x8 Chat Gateway OpenAPI). */
export const CHAT_GATEWAY_VERSION = 'Chat Gateway v1.0';
/** The real-time metric that says how many agents of a queue are idle and available. */
export const AVAILABLE_METRIC = 'availableIdle.rt';
/** 8x8 answers are small JSON documents; anything past this is not 8x8 talking. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** When a 429 comes without Retry-After, wait this long. */
const DEFAULT_RATE_LIMIT_MS = 5_000;
const ACCEPT = 'application/hal+json, application/json;q=0.9, application/problem+json;q=0.8';

/**
 * The only part of the 8x8 gateway that speaks HTTP: the Chat Gateway v1 REST API (x-api-key, X-8x8-Tenant,
 * hal+json answers, problem+json errors), the public JWK endpoint, pre-signed attachment links, and the real-time
 * metrics API with its client-credentials token. Every failure leaves as a GatewayError. It never retries (the
 * service does, per the API Retry settings); the one exception is a metrics token the API no longer accepts, which
 * is renewed once because that is token upkeep, not a retry.
 */
export class EightByEightClient {
  constructor(
    private readonly settings: EightByEightSettings,
    private readonly ctx: EightByEightCallContext,
  ) {}

  // Webhooks and channels

  async listWebhooks(page: number, size: number): Promise<HalPage<WebhookResource>> {
    return halPage(await this.call('GET', `/webhooks?size=${size}&page=${page}`), 'webhooks');
  }

  async createWebhook(input: { name: string; uri: string }): Promise<WebhookResource> {
    return (await this.call('POST', '/webhooks', { json: { ...input, version: CHAT_GATEWAY_VERSION } })) as unknown as WebhookResource;
  }

  async updateWebhook(id: string, input: { name: string; uri: string }): Promise<WebhookResource> {
    return (await this.call('PUT', `/webhooks/${enc(id)}`, { json: { ...input, version: CHAT_GATEWAY_VERSION } })) as unknown as WebhookResource;
  }

  async listChannels(page: number, size: number): Promise<HalPage<ChannelResource>> {
    return halPage(await this.call('GET', `/channels?size=${size}&page=${page}`), 'channels');
  }

  async getChannel(id: string): Promise<ChannelResource> {
    return (await this.call('GET', `/channels/${enc(id)}`)) as unknown as ChannelResource;
  }

  async saveChannel(id: string | undefined, input: { name: string; webHookId: string; queueId: string }): Promise<ChannelResource> {
    const body = { name: input.name, type: 'ChatAPI', webHookId: input.webHookId, routingOptions: { type: 'queue', id: input.queueId } };
    const answer = id === undefined ? await this.call('POST', '/channels', { json: body }) : await this.call('PUT', `/channels/${enc(id)}`, { json: body });
    return answer as unknown as ChannelResource;
  }

  // Conversations

  async createConversation(body: Json): Promise<string> {
    const answer = await this.call('POST', '/conversations', { json: body });
    if (typeof answer.conversationId !== 'string' || answer.conversationId === '') {
      throw new GatewayError('transient', '8x8 accepted the conversation without a conversationId');
    }
    return answer.conversationId;
  }

  async patchConversation(conversationId: string, body: Json): Promise<void> {
    await this.call('PATCH', `/conversations/${enc(conversationId)}`, { json: body, scope: 'conversation' });
  }

  async postAgentAssignment(conversationId: string, webhookId: string): Promise<void> {
    await this.call('POST', `/conversations/${enc(conversationId)}/post-agent-assignment`, { json: { type: 'webhook', id: webhookId }, scope: 'conversation' });
  }

  async sendMessage(conversationId: string, body: Json): Promise<void> {
    await this.call('POST', `/conversations/${enc(conversationId)}/messages`, { json: body, scope: 'conversation' });
  }

  /** Multipart upload (parts `attachment` and `authorType`); the answer's id is referenced from a message. */
  async uploadAttachment(conversationId: string, file: UploadFile): Promise<string> {
    const form = new FormData();
    // A copy: Blob wants a plain ArrayBuffer view, and a pooled Buffer may be a window on a larger one.
    form.append('attachment', new Blob([new Uint8Array(file.content)], { type: file.mimeType || 'application/octet-stream' }), file.name || 'attachment');
    form.append('authorType', 'user');
    const answer = await this.call('POST', `/conversations/${enc(conversationId)}/attachments`, { form, scope: 'conversation' });
    if (typeof answer.id !== 'string' || answer.id === '') throw new GatewayError('transient', '8x8 stored the attachment without an id');
    return answer.id;
  }

  async sendTyping(conversationId: string): Promise<void> {
    await this.call('POST', `/conversations/${enc(conversationId)}/typing`, { json: { authorType: 'user' }, scope: 'conversation' });
  }

  /** The user leaves: 8x8 terminates the current interaction. */
  async removeUser(conversationId: string): Promise<void> {
    await this.call('PATCH', `/conversations/${enc(conversationId)}/participants/user`, { json: { removed: true }, scope: 'conversation' });
  }

  // Unauthenticated fetches

  /** A public JWK; undefined when 8x8 does not know the key id. */
  async fetchJwk(url: string): Promise<Json | undefined> {
    const response = await this.send('GET', url, { accept: 'application/json' });
    const text = (await readLimited(response, 64 * 1024)).toString('utf8');
    if (response.status === 404) return undefined;
    if (!response.ok) throw errorFrom(response, text, 'account', 'JWK');
    return parseObject(text, 'JWK');
  }

  // Real-time metrics

  /** Agents idle and available in a queue (`availableIdle.rt` of Individual Queue Metrics). */
  async availableAgents(queueId: string): Promise<number> {
    const url = `${this.settings.metricsBaseUrl}/queues/${enc(queueId)}?metrics=${encodeURIComponent(AVAILABLE_METRIC)}`;
    let response = await this.send('GET', url, { authorization: `Bearer ${await this.metricsToken(false)}`, accept: 'application/json' });
    if (response.status === 401) {
      await response.body?.cancel().catch(() => undefined);
      // Tokens can be revoked before their expiry; one fresh token, then the answer stands.
      response = await this.send('GET', url, { authorization: `Bearer ${await this.metricsToken(true)}`, accept: 'application/json' });
    }
    const text = (await readLimited(response, MAX_ANSWER_BYTES)).toString('utf8');
    if (response.status === 404) throw new GatewayError('invalid_request', `Queue ${queueId} is unknown to the real-time metrics API`, { status: 404 });
    if (!response.ok) throw errorFrom(response, text, 'account', 'real-time metrics');
    const metrics = parseObject(text, 'real-time metrics').metrics;
    const metric = Array.isArray(metrics) ? (metrics as Json[]).find((item) => item && item.key === AVAILABLE_METRIC) : undefined;
    const value = Number(metric?.value);
    if (!metric || !Number.isFinite(value)) throw new GatewayError('transient', `The real-time metrics answer for queue ${queueId} has no ${AVAILABLE_METRIC}`);
    return value;
  }

  private async metricsToken(renew: boolean): Promise<string> {
    const { metricsClientId, metricsClientSecret } = this.settings;
    if (!metricsClientSecret) throw new GatewayError('auth_failed', 'The availability check needs the Real-time Metrics Client Secret');
    const tokenUrl = metricsTokenUrl(this.settings.metricsBaseUrl);
    const fingerprint = createHash('sha256').update(`${metricsClientId}:${metricsClientSecret}`).digest('base64url').slice(0, 22);
    const key = `8x8:metrics-token:${tokenUrl}:${fingerprint}`;
    if (renew) this.ctx.tokens.delete(key);
    const cached = this.ctx.tokens.get(key);
    if (cached) return cached.token;
    const response = await this.send('POST', tokenUrl, {
      authorization: `Basic ${Buffer.from(`${metricsClientId}:${metricsClientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }, 'grant_type=client_credentials');
    const text = (await readLimited(response, 64 * 1024)).toString('utf8');
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      throw new GatewayError('auth_failed', `8x8 refused the real-time metrics credentials (HTTP ${response.status})`, { status: response.status });
    }
    if (!response.ok) throw errorFrom(response, text, 'account', 'metrics token');
    const body = parseObject(text, 'metrics token');
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new GatewayError('transient', 'The metrics token answer has no access_token');
    // AuthResponse carries every number as a string ("3600"); renew a minute early.
    const seconds = Number(body.expires_in ?? 3600);
    const lifetime = Number.isFinite(seconds) && seconds > 0 ? seconds : 3600;
    this.ctx.tokens.set(key, body.access_token, Date.now() + Math.max(lifetime - 60, lifetime / 2) * 1000);
    return body.access_token;
  }

  // Plumbing

  private async call(method: string, path: string, options: CallOptions = {}): Promise<Json> {
    const headers: Record<string, string> = { 'x-api-key': this.settings.apiKey, accept: ACCEPT };
    if (this.settings.tenantId) headers['X-8x8-Tenant'] = this.settings.tenantId;
    let body: string | FormData | undefined;
    if (options.form) body = options.form;
    else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await this.send(method, `${this.settings.baseUrl}${CHAT_GATEWAY_PATH}${path}`, headers, body);
    const text = (await readLimited(response, MAX_ANSWER_BYTES)).toString('utf8');
    this.ctx.logger.debug('8x8 answered', { method, path: path.split('?')[0], status: response.status });
    if (!response.ok) throw errorFrom(response, text, options.scope ?? 'account', `${method} ${path.split('?')[0]}`);
    return text.trim() === '' ? {} : parseObject(text, `${method} ${path.split('?')[0]}`);
  }

  /** API calls never follow redirects: `x-api-key` would travel along to wherever they point. */
  private async send(method: string, url: string, headers: Record<string, string>, body?: string | FormData): Promise<Response> {
    try {
      return await this.ctx.http.fetch(url, { method, headers, body, signal: this.ctx.signal, redirect: 'error' });
    } catch (error) {
      if (error instanceof OutboundRefused) {
        throw new GatewayError('invalid_request', `8x8 ${method} ${new URL(url).pathname}: refused by the outbound policy: ${error.message}`, { cause: error });
      }
      const name = (error as Error)?.name;
      const reason = name === 'TimeoutError' || name === 'AbortError' ? 'no answer in time' : describeNetworkError(error);
      throw new GatewayError('transient', `8x8 unreachable (${method} ${new URL(url).pathname}): ${reason}`, { cause: error });
    }
  }
}

/** Status -> GatewayError, with the problem+json message (8x8's several error shapes in the OpenAPI) for the record. */
function errorFrom(response: Response, text: string, scope: Scope, what: string): GatewayError {
  return statusError(response.status, response.headers.get('retry-after'), `${what}: 8x8 answered ${response.status}${problemMessage(text)}`, scope);
}

/** An 8x8 status (of its API or its file storage) as a GatewayError, with its Retry-After where it has one. */
export function statusError(status: number, retryAfterHeader: string | null, detail: string, scope: Scope): GatewayError {
  const retryAfter = retryAfterMs(retryAfterHeader);
  if (status === 429) return new GatewayError('rate_limited', detail, { status, retryAfterMs: retryAfter ?? DEFAULT_RATE_LIMIT_MS });
  if (status === 408 || status >= 500) return new GatewayError('transient', detail, { status, retryAfterMs: retryAfter });
  const code: GatewayErrorCode =
    status === 401 || status === 403 ? 'auth_failed' : status === 404 && scope === 'conversation' ? 'session_gone' : 'invalid_request';
  return new GatewayError(code, detail, { status });
}

function problemMessage(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return '';
  }
  if (!body || typeof body !== 'object') return '';
  const problem = body as Json;
  const parts: string[] = [];
  if (typeof problem.message === 'string') parts.push(problem.message);
  const fault = problem.fault as Json | undefined;
  if (fault && typeof fault.faultstring === 'string') parts.push(fault.faultstring);
  // `errors` is an array of {code,message}, an array of strings, or (BadRequestProblem) one object.
  const errors = Array.isArray(problem.errors) ? problem.errors : problem.errors ? [problem.errors] : [];
  for (const entry of errors.slice(0, 5)) {
    const line = typeof entry === 'string' ? entry : entry && typeof entry === 'object' ? [(entry as Json).code, (entry as Json).message].filter((part) => typeof part === 'string').join(': ') : '';
    if (line && !parts.includes(line)) parts.push(line);
  }
  return parts.length ? ` (${parts.join('; ').slice(0, 500)})` : '';
}

/** Retry-After in delta-seconds or as an HTTP date. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function halPage<T>(body: Json, collection: string): HalPage<T> {
  const embedded = body._embedded as Json | undefined;
  const items = embedded && Array.isArray(embedded[collection]) ? (embedded[collection] as T[]) : [];
  const totalPages = Number((body.page as Json | undefined)?.totalPages);
  return { items, totalPages: Number.isInteger(totalPages) && totalPages >= 0 ? totalPages : 1 };
}

function parseObject(text: string, what: string): Json {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // fall through
  }
  throw new GatewayError('transient', `${what}: 8x8 answered with something that is not a JSON object`);
}

async function readLimited(response: Response, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new GatewayError('invalid_request', `answer larger than ${maxBytes} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('transient', `8x8 answer cut short: ${describeNetworkError(error)}`, { cause: error });
  }
  return Buffer.concat(chunks);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
