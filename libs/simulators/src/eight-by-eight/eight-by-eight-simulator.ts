import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { SimulatorClock, systemClock } from '../clock/simulator-clock';
import { EIGHT_BY_EIGHT_AGENT_CONSOLE, isAgentConsolePath, registerAgentConsoleRoutes } from '../console/agent-console.routes';
import { close, listen, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { CHAT_GATEWAY_BASE_PATH, registerChatGatewayRoutes } from './eight-by-eight-api.routes';
import { registerControlRoutes } from './eight-by-eight-control.routes';
import { AgentFileInput, AgentMessageInput, EightByEightConversationService } from './eight-by-eight-conversation.service';
import { webhookVerifyBody } from './eight-by-eight-event.mapper';
import { HttpFaultInjector, HttpFaultInput, HttpFaultRule } from './eight-by-eight-fault-injector';
import { registerMetricsRoutes } from './eight-by-eight-metrics.routes';
import { generalError, PROBLEM_JSON, resourceNotFound } from './eight-by-eight-problems';
import { parseCards } from './eight-by-eight-request.parser';
import { EightByEightSigningKeys } from './eight-by-eight-signature';
import { ConversationSummary, conversationSummary, conversationView } from './eight-by-eight-view.mapper';
import { DeliveryAttempt, EightByEightWebhookSender, WebhookDelivery } from './eight-by-eight-webhook-sender';
import { EightByEightEventFormat, QueueAgentCounts, QueueRecord, WebhookRecord } from './eight-by-eight.model';
import { EightByEightRepository, QueueSeed } from './eight-by-eight.repository';
import { OasViolation, OpenApiRequestValidator } from './openapi-request-validator';

/** Options of the 8x8 simulator; every one has a default that suits tests. */
export interface EightByEightSimulatorOptions {
  /** Expected `x-api-key` (default `sim-api-key`). Also the OAuth client id of the metrics API. */
  apiKey?: string;
  /** OAuth client secret for `POST /oauth/v2/token` (default `sim-api-secret`). */
  apiSecret?: string;
  /** Tenant id: `X-8x8-Tenant` must match it when sent; sent as `x-8x8-tenant-id` (default `tenant01`). */
  tenantId?: string;
  /** Customer id sent as `x-8x8-customer-id` (default `customer01`). */
  customerId?: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Base URL used in pre-signed attachment links, when the simulator is reached through another address. */
  publicBaseUrl?: string;
  /** Event catalogue for webhooks without their own setting (default `chat-gateway-v1`). */
  eventFormat?: EightByEightEventFormat;
  /** Shorthand for `eventFormat: 'legacy-v2'`. */
  legacyEvents?: boolean;
  /** Delays before each webhook retry; the length is the number of retries (default [200, 1000, 5000]). */
  retryDelaysMs?: number[];
  /** A webhook POST without an answer after this long counts as failed (default 5000 ms). */
  webhookTimeoutMs?: number;
  /** Deliver each conversation's events one at a time, in order (default true). */
  orderedDelivery?: boolean;
  /** How long the out-of-order fault holds an event when no next event comes (default 2000 ms). */
  outOfOrderHoldMs?: number;
  /** WEB_HOOK_VERIFY on webhook create/URI change: `require` a 2xx (default), just `send` it, or `off`. */
  verifyWebhooksOnCreate?: 'require' | 'send' | 'off';
  /** Delay between the `created` and `active` CONVERSATION_UPDATEs (default 10 ms). */
  activationDelayMs?: number;
  /** Queues known from the start, with names (used in QUEUED) and agent counts (used by the metrics). */
  queues?: QueueSeed[];
  /** Answer 400 invalid_queue for queues not in `queues` / not set through the control API (default false). */
  rejectUnknownQueues?: boolean;
  /** Which message reopens an idle conversation into its last queue (default `user-message`). */
  reopenOn?: 'user-message' | 'any-message' | 'never';
  /** An agent that accepts every queued conversation by itself, for demos. */
  autoAccept?: { agentId?: string; agentName?: string; afterMs?: number };
  /** Lifetime of pre-signed attachment links (default one hour). */
  presignedUrlTtlMs?: number;
  /** Lifetime of metrics API bearer tokens (default 3600 s). */
  tokenTtlSeconds?: number;
  /** A validator to check every Chat Gateway request against; violations are recorded, never enforced. */
  validator?: OpenApiRequestValidator;
  /** Without `validator`: true = load 8x8's document and fail to start without it; false = off; absent = if found. */
  validateRequests?: boolean;
  /** Document to load (default {@link OpenApiRequestValidator.defaultDocumentPath}). */
  oasDocumentPath?: string;
  /** Number of delivery log entries kept (default 5000). */
  maxDeliveryLog?: number;
  /**
   * What `latency` faults wait on (default the machine's clock): a test passes a `ManualClock` and moves it instead of
   * waiting. Everything else reads the machine's clock.
   */
  clock?: SimulatorClock;
}

/** An OpenAPI violation with the time it was seen. */
export interface RecordedOasViolation extends OasViolation {
  at: string;
}

/** A webhook fault: deliver the next events twice, or hold each back behind the next one. */
export interface WebhookFaultInput {
  kind: 'duplicate' | 'out-of-order';
  count?: number;
}

/** The control API's conversation list: waiting per queue, active (with an agent, a bot or a script), ended. */
export interface ConversationLists {
  waiting: Record<string, ConversationSummary[]>;
  active: ConversationSummary[];
  ended: ConversationSummary[];
}

/** Settings that can change while the simulator runs. */
export interface EightByEightRuntimeSettings {
  eventFormat?: EightByEightEventFormat;
  retryDelaysMs?: number[];
  orderedDelivery?: boolean;
  webhookTimeoutMs?: number;
}

/**
 * A protocol-faithful fake of 8x8's Contact Center Chat Gateway v1: the REST API, signed webhooks with retries,
 * the real-time queue metrics, an agent control API (`/sim/...`, also available as methods) and fault injection.
 */
export class EightByEightSimulator {
  readonly apiKey: string;
  readonly tenantId: string;
  readonly customerId: string;
  /** The whole state, readable by an agent console. */
  readonly repository: EightByEightRepository;
  readonly signingKeys = new EightByEightSigningKeys();
  private readonly sender: EightByEightWebhookSender;
  private readonly service: EightByEightConversationService;
  private readonly faults = new HttpFaultInjector();
  /** Aborted by stop(): a stopped simulator leaves no latency timer behind. */
  private latencies = new AbortController();
  private readonly router = new SimulatorRouter();
  private readonly violations: RecordedOasViolation[] = [];
  private readonly tokens = new Map<string, number>();
  private validator?: OpenApiRequestValidator;
  private server?: Server;
  private url = '';

  constructor(private readonly options: EightByEightSimulatorOptions = {}) {
    this.apiKey = options.apiKey ?? 'sim-api-key';
    this.tenantId = options.tenantId ?? 'tenant01';
    this.customerId = options.customerId ?? 'customer01';
    this.repository = new EightByEightRepository(options.queues);
    this.sender = new EightByEightWebhookSender(this.signingKeys, {
      tenantId: this.tenantId,
      customerId: this.customerId,
      retryDelaysMs: options.retryDelaysMs ?? [200, 1000, 5000],
      timeoutMs: options.webhookTimeoutMs ?? 5000,
      orderedDelivery: options.orderedDelivery ?? true,
      holdTimeoutMs: options.outOfOrderHoldMs ?? 2000,
      maxLogEntries: options.maxDeliveryLog ?? 5000,
    });
    const autoAccept = options.autoAccept;
    this.service = new EightByEightConversationService(
      this.repository,
      this.sender,
      {
        tenantId: this.tenantId,
        eventFormat: options.eventFormat ?? (options.legacyEvents ? 'legacy-v2' : 'chat-gateway-v1'),
        activationDelayMs: options.activationDelayMs ?? 10,
        rejectUnknownQueues: options.rejectUnknownQueues ?? false,
        reopenOn: options.reopenOn ?? 'user-message',
        autoAccept: autoAccept && { agentId: autoAccept.agentId ?? 'agent-1', agentName: autoAccept.agentName ?? 'Agent One', afterMs: autoAccept.afterMs ?? 1000 },
        presignedUrlTtlMs: options.presignedUrlTtlMs ?? 3_600_000,
      },
      () => this.options.publicBaseUrl ?? this.url,
    );
    registerChatGatewayRoutes(this.router, {
      repository: this.repository,
      service: this.service,
      signingKeys: this.signingKeys,
      apiKey: this.apiKey,
      tenantId: this.tenantId,
      customerId: this.customerId,
      verifyOnCreate: options.verifyWebhooksOnCreate ?? 'require',
      verifyWebhook: (uri, version, webhook) => this.verifyWebhook(uri, version, webhook),
      validateRequest: (req, form) => this.validateRequest(req, form),
    });
    registerMetricsRoutes(this.router, {
      repository: this.repository,
      clientId: this.apiKey,
      clientSecret: options.apiSecret ?? 'sim-api-secret',
      tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
      tokens: this.tokens,
    });
    registerControlRoutes(this.router, this);
    registerAgentConsoleRoutes(this.router, EIGHT_BY_EIGHT_AGENT_CONSOLE);
  }

  /** Base URL once started, e.g. `http://127.0.0.1:41234`. */
  get baseUrl(): string {
    return this.url;
  }

  /** True when requests are checked against 8x8's OpenAPI document. */
  get validating(): boolean {
    return this.validator !== undefined;
  }

  async start(port = 0): Promise<string> {
    if (this.server) return this.url;
    this.validator = this.options.validator ?? this.loadValidator();
    // Faults and the undefined-route check run before the shared router, so the server is created here.
    const server = createServer((req, res) => void this.dispatch(req, res));
    server.keepAliveTimeout = 65_000;
    this.url = await listen(server, port, this.options.host ?? '127.0.0.1');
    this.server = server;
    return this.url;
  }

  async stop(): Promise<void> {
    this.latencies.abort();
    this.latencies = new AbortController();
    this.service.stop();
    this.sender.stop();
    if (this.server) await close(this.server);
    this.server = undefined;
  }

  // Agent side

  listConversations(): ConversationLists {
    const lists: ConversationLists = { waiting: {}, active: [], ended: [] };
    for (const conversation of this.repository.conversations.values()) {
      const summary = conversationSummary(conversation);
      if (conversation.phase === 'queued') (lists.waiting[conversation.assignment.id] ??= []).push(summary);
      else if (conversation.phase === 'ended') lists.ended.push(summary);
      else lists.active.push(summary);
    }
    return lists;
  }

  /**
   * Resolves with the first conversation that matches (by default: one waiting in a queue), polling the state;
   * for contract tests that drive a gateway and then play the agent.
   */
  async waitForConversation(predicate: (summary: ConversationSummary) => boolean = (summary) => summary.phase === 'queued', timeoutMs = 5000): Promise<ConversationSummary> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const conversation of this.repository.conversations.values()) {
        const summary = conversationSummary(conversation);
        if (predicate(summary)) return summary;
      }
      if (Date.now() > deadline) throw new Error('No matching conversation in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** User (with additionalProperties), history, messages, attachments, assignment, state, hand-back... */
  getConversation(id: string): Record<string, unknown> {
    return conversationView(this.service.get(id), this.repository.queues, this.options.publicBaseUrl ?? this.url);
  }

  /** MEMBERS_CHANGED agent joined, then CONVERSATION_UPDATE with the agent assignment. */
  acceptConversation(id: string, agent: { agentId?: string; agentName?: string } = {}): Record<string, unknown> {
    this.service.accept(id, { id: agent.agentId ?? 'agent-1', name: agent.agentName ?? 'Agent One' });
    return this.getConversation(id);
  }

  /** ACTIVITY typing: the agent in `users` while typing, an empty list when stopped. */
  setAgentTyping(id: string, typing: boolean): void {
    this.service.agentTyping(id, typing);
  }

  sendAgentMessage(id: string, input: AgentMessageInput): { messageId: string } {
    if (input.text === undefined && (input.cards ?? []).length === 0) throw generalError(400, 'invalid_message', 'An agent message needs text or cards.');
    return { messageId: this.service.agentMessage(id, { text: input.text, cards: parseCards(input.cards) }).id };
  }

  sendAgentFile(id: string, input: AgentFileInput): { messageId: string; attachmentId: string } {
    if (!input.fileName || typeof input.contentBase64 !== 'string') throw generalError(400, 'invalid_file', 'fileName and contentBase64 are required.');
    const message = this.service.agentFile(id, input);
    return { messageId: message.id, attachmentId: message.attachmentIds[0] };
  }

  /** TRANSFER, MEMBERS_CHANGED agent left, CONVERSATION_UPDATE (queue), QUEUED in the new queue. */
  transferConversation(id: string, target: { queueId: string; queueName?: string }): Record<string, unknown> {
    if (!target.queueId) throw generalError(400, 'invalid_queue', 'queueId is required.');
    this.service.transfer(id, target.queueId, target.queueName);
    return this.getConversation(id);
  }

  /** The agent leaves or closes: MEMBERS_CHANGED left (if an agent had it), then idle or the hand-back to the bot. */
  leaveConversation(id: string): Record<string, unknown> {
    this.service.agentLeave(id);
    return this.getConversation(id);
  }

  /** Any ACTIVITY, e.g. `adaptiveCard/action` {type, data} or `quickReply/action` {type: 'postback', data}. */
  sendActivity(id: string, name: string, value: unknown): void {
    this.service.activity(id, name, value);
  }

  // Webhooks and keys

  deliveries(filter: { conversationId?: string; eventType?: string } = {}): WebhookDelivery[] {
    return this.sender.deliveries(filter);
  }

  /** Resolves once no event is waiting to be emitted, queued, held, retried or in flight. */
  async whenDeliveriesSettled(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.service.hasPendingWork || !this.sender.idle) {
      if (Date.now() > deadline) throw new Error('Webhook deliveries did not settle in time');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** New signing key; later events carry its kid. Old keys stay served. */
  rotateSigningKey(): string {
    return this.signingKeys.rotate();
  }

  setWebhookEventFormat(webhookId: string, format: EightByEightEventFormat): WebhookRecord {
    const webhook = this.repository.webhooks.get(webhookId);
    if (!webhook) throw resourceNotFound('WebHook', webhookId);
    if (format !== 'chat-gateway-v1' && format !== 'legacy-v2') throw generalError(400, 'invalid_format', `Unknown event format ${String(format)}.`);
    webhook.eventFormat = format;
    return webhook;
  }

  configure(settings: EightByEightRuntimeSettings): EightByEightRuntimeSettings {
    if (settings.eventFormat !== undefined) this.service.settings.eventFormat = settings.eventFormat;
    if (settings.retryDelaysMs !== undefined) this.sender.settings.retryDelaysMs = settings.retryDelaysMs;
    if (settings.orderedDelivery !== undefined) this.sender.settings.orderedDelivery = settings.orderedDelivery;
    if (settings.webhookTimeoutMs !== undefined) this.sender.settings.timeoutMs = settings.webhookTimeoutMs;
    return {
      eventFormat: this.service.settings.eventFormat,
      retryDelaysMs: this.sender.settings.retryDelaysMs,
      orderedDelivery: this.sender.settings.orderedDelivery,
      webhookTimeoutMs: this.sender.settings.timeoutMs,
    };
  }

  // Faults

  injectHttpFault(fault: HttpFaultInput): HttpFaultRule {
    try {
      return this.faults.add(fault);
    } catch (error) {
      throw generalError(400, 'invalid_fault', (error as Error).message);
    }
  }

  injectWebhookFault(fault: WebhookFaultInput): { duplicate: number; outOfOrder: number } {
    const count = fault.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw generalError(400, 'invalid_fault', 'count must be a positive integer');
    if (fault.kind === 'duplicate') this.sender.duplicateNext(count);
    else if (fault.kind === 'out-of-order') this.sender.reorderNext(count);
    else throw generalError(400, 'invalid_fault', `Unknown webhook fault ${String(fault.kind)}`);
    return this.sender.pendingFaults();
  }

  listFaults(): { http: HttpFaultRule[]; webhooks: { duplicate: number; outOfOrder: number } } {
    return { http: this.faults.list(), webhooks: this.sender.pendingFaults() };
  }

  clearFaults(): void {
    this.faults.clear();
    this.sender.clearFaults();
  }

  // Metrics

  /** Sets a queue's name, agent counts (available, busy, wrapUp, onBreak, workingOffline, loggedOut) or metric overrides. */
  setQueue(queueId: string, patch: { name?: string; agents?: Partial<QueueAgentCounts>; metrics?: Record<string, number> }): QueueRecord {
    for (const [key, value] of Object.entries({ ...patch.agents, ...patch.metrics })) {
      if (typeof value !== 'number' || value < 0) throw generalError(400, 'invalid_value', `${key} must be a non-negative number.`);
    }
    return this.repository.setQueue(queueId, patch);
  }

  /** Every metrics bearer token stops working (to test a client's token refresh). */
  expireTokens(): void {
    this.tokens.clear();
  }

  // OpenAPI conformance

  oasViolations(): RecordedOasViolation[] {
    return [...this.violations];
  }

  clearOasViolations(): void {
    this.violations.length = 0;
  }

  /** Forgets webhooks, channels, conversations, deliveries, faults and violations; keys and settings stay. */
  reset(): void {
    this.service.stop();
    this.repository.reset();
    this.sender.resetLog();
    this.clearFaults();
    this.clearOasViolations();
    this.tokens.clear();
  }

  /** The pre-signed link target (no API key: the URL itself is the credential). */
  presignedFile(token: string): { filename: string; mimeType: string; content: Buffer } {
    const link = this.repository.presignedLinks.get(token);
    if (!link) throw generalError(404, 'not_found', 'No such file.');
    if (link.expiresAt <= Date.now()) throw generalError(403, 'expired', 'Request has expired.');
    const attachment = this.repository.conversations.get(link.conversationId)?.attachments.find((candidate) => candidate.id === link.attachmentId);
    if (!attachment) throw generalError(404, 'not_found', 'No such file.');
    return attachment;
  }

  private loadValidator(): OpenApiRequestValidator | undefined {
    if (this.options.validateRequests === false) return undefined;
    try {
      return OpenApiRequestValidator.fromFile(this.options.oasDocumentPath);
    } catch (error) {
      // Validation is a test aid: without the document the simulator still runs, unless validation was asked for.
      if (this.options.validateRequests === true) throw error;
      return undefined;
    }
  }

  private verifyWebhook(uri: string, version: string | undefined, webhook?: WebhookRecord): Promise<DeliveryAttempt> {
    const format = webhook?.eventFormat ?? this.service.settings.eventFormat;
    return this.sender.sendOnce(uri, webhookVerifyBody(format, version), format, webhook?.id);
  }

  private validateRequest(req: SimulatorRequest, form?: Record<string, string>): void {
    if (!this.validator || !this.validator.findOperation(req.method, req.path)) return;
    this.record(this.validator.validate({ method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body, form }));
  }

  private record(violations: OasViolation[]): void {
    const at = new Date().toISOString();
    this.violations.push(...violations.map((violation) => ({ ...violation, at })));
    if (this.violations.length > 1000) this.violations.splice(0, this.violations.length - 1000);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = (req.method ?? 'GET').toUpperCase();
    // The control API and the agent console are local tools, never 8x8's API: faults and validation skip them.
    if (url.pathname !== '/sim' && !url.pathname.startsWith('/sim/') && !isAgentConsolePath(url.pathname)) {
      const latency = this.faults.takeLatency(method, url.pathname);
      if (latency) await (this.options.clock ?? systemClock).wait(latency.latencyMs ?? 1000, this.latencies.signal);
      const failure = this.faults.takeFailure(method, url.pathname);
      if (failure) {
        req.resume();
        const problem =
          failure.kind === 'rate-limit'
            ? generalError(failure.status!, 'rate_limit_exceeded', 'Rate limit exceeded', { 'retry-after': String(failure.retryAfterSeconds) })
            : generalError(failure.status!, 'internal_error', 'Internal error.');
        send(res, problem.status, problem.body, PROBLEM_JSON, problem.headers);
        return;
      }
      // Routes the document does not define never reach a handler; record them here.
      if (this.validator && url.pathname.startsWith(CHAT_GATEWAY_BASE_PATH) && !this.validator.findOperation(method, url.pathname)) {
        this.record(this.validator.validate({ method, path: url.pathname, query: url.searchParams, headers: req.headers }));
      }
    }
    await this.router.handle(req, res);
  }
}
