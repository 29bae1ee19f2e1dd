import { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { GMS_AGENT_CONSOLE, registerAgentConsoleRoutes } from '../console/agent-console.routes';
import { close, listen, SimulatorRouter } from '../http/simulator-http';
import {
  GmsAgentFileInput,
  GmsAgentJoinInput,
  GmsAgentMessageInput,
  GmsAgentOperations,
  GmsAgentPushUrlInput,
  GmsAgentSelector,
  GmsAgentTransferInput,
  GmsAgentTypingInput,
  GmsSystemMessageInput,
} from './gms-agent.operations';
import { GmsAuthGuard } from './gms-auth.guard';
import { GmsChatApiRoutes } from './gms-chat-api.routes';
import { GmsChatSession, GmsParticipant } from './gms-chat-session';
import { GmsChatDetail, GmsChatSummary, GmsFileView, toChatDetail, toChatSummary, toFileView } from './gms-chat-view.mapper';
import { GmsChatFilter, GmsChatStore } from './gms-chat.store';
import { GmsClientOperations } from './gms-client.operations';
import { registerGmsControlRoutes } from './gms-control-api.routes';
import { GmsEntraTokenIssuer } from './gms-entra-token.issuer';
import { registerEntraTokenRoutes } from './gms-entra-token.routes';
import { GmsFault, GmsFaultInjector, GmsFaultSpec } from './gms-fault.injector';
import { GmsTranscriptEvent } from './gms-protocol.types';
import { GmsRequestLogSnapshot, GmsRequestRecorder } from './gms-request.recorder';
import { GmsSimulatorOptions, ResolvedGmsSimulatorOptions, resolveGmsOptions } from './gms-simulator.options';

/** Waiting chats and chats with an agent, per queue. */
export interface GmsQueueView {
  queue: string;
  waiting: number;
  active: number;
}

/**
 * A protocol-faithful fake of the Genesys GMS Chat API v2 (polling variant) with the agent side, timers, auth modes and
 * fault injection that tests, the demo and integrators need. See docs/simulators/gms.md.
 *
 * ```ts
 * const gms = new GmsSimulator({ flexDisconnectSeconds: 2 });
 * const baseUrl = await gms.start();
 * const chat = await gms.waitForChat({ queue: 'sales' });
 * gms.agentJoin(chat.chatId, { nickname: 'Ann' });
 * ```
 */
export class GmsSimulator {
  readonly options: ResolvedGmsSimulatorOptions;
  /** The chats, their timers and the `chat-created` / `transcript-event` / `chat-ended` emitter. */
  readonly store: GmsChatStore;
  private readonly faults: GmsFaultInjector;
  private readonly recorder: GmsRequestRecorder;
  private readonly tokenIssuer?: GmsEntraTokenIssuer;
  private readonly agents: GmsAgentOperations;
  private readonly router = new SimulatorRouter();
  private server?: Server;
  private url?: string;
  private tokenPurge?: NodeJS.Timeout;

  constructor(options: GmsSimulatorOptions = {}) {
    if (options.basicAuth && options.bearerAuth) {
      throw new Error('basicAuth and bearerAuth both use the Authorization header: configure one of them');
    }
    this.options = resolveGmsOptions(options);
    this.faults = new GmsFaultInjector(this.options.clock);
    this.store = new GmsChatStore(this.options);
    this.recorder = new GmsRequestRecorder(this.options.captureRequests, this.options.captureLimit);
    if (this.options.bearerAuth) this.tokenIssuer = new GmsEntraTokenIssuer(this.options.bearerAuth);
    this.agents = new GmsAgentOperations(this.store, this.options);
    const operations = new GmsClientOperations(this.store, this.options);
    const auth = new GmsAuthGuard(this.options.basicAuth, this.tokenIssuer);
    new GmsChatApiRoutes({ options: this.options, operations, faults: this.faults, recorder: this.recorder, auth }).register(this.router);
    if (this.tokenIssuer) {
      registerEntraTokenRoutes(this.router, {
        issuer: this.tokenIssuer,
        faults: this.faults,
        recorder: this.recorder,
        scheme: this.options.tls ? 'https' : 'http',
      });
    }
    registerGmsControlRoutes(this.router, this);
    registerAgentConsoleRoutes(this.router, GMS_AGENT_CONSOLE);
  }

  /** Listens on `port` (0 picks a free one) and returns the base URL, e.g. `http://127.0.0.1:41234`. */
  async start(port = 0): Promise<string> {
    if (this.url) return this.url;
    const tls = this.options.tls;
    const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => void this.router.handle(req, res)) : this.router.createServer();
    server.keepAliveTimeout = 65_000;
    const url = await listen(server, port, this.options.host);
    this.server = server;
    this.url = tls ? url.replace(/^http:/, 'https:') : url;
    this.store.start();
    if (this.tokenIssuer) {
      const issuer = this.tokenIssuer;
      this.tokenPurge = setInterval(() => issuer.purgeExpired(), 60_000);
      this.tokenPurge.unref();
    }
    return this.url;
  }

  async stop(): Promise<void> {
    this.store.stop();
    this.faults.endLatencies();
    if (this.tokenPurge) clearInterval(this.tokenPurge);
    const server = this.server;
    this.server = undefined;
    this.url = undefined;
    if (server) await close(server);
  }

  get baseUrl(): string {
    if (!this.url) throw new Error('GmsSimulator is not started');
    return this.url;
  }

  /** `{baseUrl}{contextPath}{serviceName}`: where Request Chat goes. */
  chatServiceUrl(serviceName = this.options.serviceNames[0] ?? 'customer-support'): string {
    return `${this.baseUrl}${this.options.contextPath}${encodeURIComponent(serviceName)}`;
  }

  /** The Entra-style authority to configure in bearer mode: `{baseUrl}/{tenant}`. */
  authorityUrl(tenant = this.options.bearerAuth?.tenantId ?? 'simulated-tenant'): string {
    return `${this.baseUrl}/${tenant}`;
  }

  // ---- state -------------------------------------------------------------------------------------------------------

  listChats(filter: GmsChatFilter = {}): GmsChatSummary[] {
    return this.store.list(filter).map(toChatSummary);
  }

  getChat(chatId: string): GmsChatDetail | undefined {
    const chat = this.store.get(chatId);
    return chat && toChatDetail(chat);
  }

  /** The live session object, for an agent console built on top (read it; change it through the agent methods). */
  session(chatId: string): GmsChatSession | undefined {
    return this.store.get(chatId);
  }

  /** A file's content, for a console or a test checking what the client uploaded. */
  fileContent(chatId: string, fileId: string): { file: GmsFileView; content: Buffer } | undefined {
    const chat = this.store.get(chatId);
    const file = chat?.files.get(fileId);
    if (!chat || !file) return undefined;
    return { file: toFileView(file), content: file.content };
  }

  queues(): GmsQueueView[] {
    const byQueue = new Map<string, GmsQueueView>();
    for (const chat of this.store.list()) {
      if (chat.isEnded) continue;
      const view = byQueue.get(chat.queue) ?? { queue: chat.queue, waiting: 0, active: 0 };
      if (chat.state === 'waiting') view.waiting++;
      else view.active++;
      byQueue.set(chat.queue, view);
    }
    return [...byQueue.values()];
  }

  // ---- agent side --------------------------------------------------------------------------------------------------

  agentJoin(chatId: string, input?: GmsAgentJoinInput): GmsParticipant {
    return this.agents.join(chatId, input);
  }

  /** Joins the longest-waiting chat of the queue (any queue when undefined); undefined when none waits. */
  agentAcceptNext(queue?: string, input?: GmsAgentJoinInput): { chatId: string; agent: GmsParticipant } | undefined {
    return this.agents.acceptNext(queue, input);
  }

  agentStartTyping(chatId: string, input?: GmsAgentTypingInput): void {
    this.agents.startTyping(chatId, input);
  }

  agentStopTyping(chatId: string, input?: GmsAgentTypingInput): void {
    this.agents.stopTyping(chatId, input);
  }

  /** Returns the transcript index of the message. */
  agentSendMessage(chatId: string, input: GmsAgentMessageInput | string): number {
    return this.agents.sendMessage(chatId, typeof input === 'string' ? { text: input } : input);
  }

  agentPushUrl(chatId: string, input: GmsAgentPushUrlInput | string): number {
    return this.agents.pushUrl(chatId, typeof input === 'string' ? { url: input } : input);
  }

  /** The client sees a FileUploaded event and can download the file by its id. */
  agentSendFile(chatId: string, input: GmsAgentFileInput): GmsFileView {
    const file = this.agents.sendFile(chatId, input);
    return this.fileContent(chatId, file.fileId)!.file;
  }

  agentTransfer(chatId: string, input: GmsAgentTransferInput): void {
    this.agents.transfer(chatId, input);
  }

  agentLeave(chatId: string, input?: GmsAgentSelector): void {
    this.agents.leave(chatId, input);
  }

  agentClose(chatId: string, input?: GmsAgentSelector): void {
    this.agents.close(chatId, input);
  }

  /** An `External` message (routing strategy, bot, waiting-time notice) or a system `Notice`. Returns its index. */
  systemMessage(chatId: string, input: GmsSystemMessageInput): number {
    return this.agents.systemMessage(chatId, input);
  }

  // ---- faults, request log, tokens, timers -------------------------------------------------------------------------

  injectFault(spec: GmsFaultSpec): GmsFault {
    return this.faults.add(spec);
  }

  listFaults(): GmsFault[] {
    return this.faults.list();
  }

  removeFault(id: string): boolean {
    return this.faults.remove(id);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Resolves once `count` faults of `kind` have been applied in all (a delayed request has reached the simulator). */
  faultsApplied(kind: string, count: number): Promise<void> {
    return this.recorder.faultsApplied(kind, count);
  }

  requestLog(): GmsRequestLogSnapshot {
    return this.recorder.snapshot();
  }

  setRequestCapture(enabled: boolean): void {
    this.recorder.capturing = enabled;
  }

  resetRequestLog(): void {
    this.recorder.reset();
  }

  /** Access tokens issued by the token endpoint since start (0 without bearer mode). */
  get tokensIssued(): number {
    return this.tokenIssuer?.tokensIssued ?? 0;
  }

  /** Makes every issued token expired, so the next chat call gets 401 and the client must fetch a new one. */
  expireTokens(): void {
    this.tokenIssuer?.expireAll();
  }

  /** Runs the timer sweep now (flex-disconnect, inactivity control, clean-up) instead of waiting for the interval. */
  sweep(now?: number): void {
    this.store.sweep(now);
  }

  /** Forgets every chat, fault and recorded request. */
  reset(): void {
    this.store.clear();
    this.faults.clear();
    this.recorder.reset();
  }

  // ---- waiting for things --------------------------------------------------------------------------------------------

  /** Resolves with the first chat (existing or new) matching the filter, e.g. the chat the gateway under test requests. */
  waitForChat(filter: GmsChatFilter = {}, timeoutMs = 5000): Promise<GmsChatSummary> {
    const matches = (chat: GmsChatSession) =>
      (!filter.queue || chat.queue === filter.queue) &&
      (!filter.serviceName || chat.serviceName === filter.serviceName) &&
      (!filter.state || chat.state === filter.state);
    const existing = this.store.list(filter)[0];
    if (existing) return Promise.resolve(toChatSummary(existing));
    return this.waitFor<[GmsChatSession], GmsChatSummary>('chat-created', timeoutMs, (chat) => (matches(chat) ? toChatSummary(chat) : undefined), 'a chat');
  }

  /** Resolves with the first transcript event of the chat (already there or coming) that satisfies the predicate. */
  waitForEvent(chatId: string, predicate: (event: GmsTranscriptEvent) => boolean, timeoutMs = 5000): Promise<GmsTranscriptEvent> {
    const existing = this.store.get(chatId)?.transcript.find(predicate);
    if (existing) return Promise.resolve(existing);
    return this.waitFor<[GmsChatSession, GmsTranscriptEvent], GmsTranscriptEvent>(
      'transcript-event',
      timeoutMs,
      (chat, event) => (chat.chatId === chatId && predicate(event) ? event : undefined),
      `an event in chat ${chatId}`,
    );
  }

  private waitFor<A extends unknown[], R>(name: string, timeoutMs: number, pick: (...args: A) => R | undefined, what: string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const listener = (...args: A) => {
        const value = pick(...args);
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`GMS simulator: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.store.events.off(name, listener as (...args: unknown[]) => void);
      };
      this.store.events.on(name, listener as (...args: unknown[]) => void);
    });
  }
}
