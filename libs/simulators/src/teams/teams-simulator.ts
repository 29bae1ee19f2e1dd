import { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { SimulatorClock, systemClock } from '../clock/simulator-clock';
import { close, listen, SimulatorRouter } from '../http/simulator-http';
import {
  baseActivity,
  cardSubmitActivity,
  installActivities,
  messageActivity,
  readReceiptActivity,
  TeamsActivityContext,
  uninstallActivities,
} from './teams-activity.factory';
import { TeamsConnectorFaultInjector } from './teams-connector-fault.injector';
import { registerTeamsConnectorRoutes } from './teams-connector.routes';
import { TeamsControlError, TeamsConversationStore } from './teams-conversation.store';
import { registerTeamsAuthRoutes } from './teams-auth.routes';
import { registerTeamsControlRoutes } from './teams-control-api.routes';
import { registerTeamsConsoleRoutes } from './teams-console.routes';
import { TeamsInboundSender } from './teams-inbound.sender';
import { TeamsKeyService } from './teams-key.service';
import { TeamsRateLimiter } from './teams-rate.limiter';
import {
  InboundFault,
  TeamsBlockShape,
  TeamsBotRegistration,
  TeamsConnectorFault,
  TeamsConnectorRequestRecord,
  TeamsInboundDelivery,
  TeamsMembership,
  TeamsRateLimits,
  TeamsSimulatorOptions,
  TeamsTranscriptEntry,
  TeamsUser,
  TeamsUserInput,
} from './teams-simulator.types';
import { TeamsTokenFaultKind, TeamsTokenIssuer } from './teams-token.issuer';

/**
 * Microsoft Teams, the Bot Connector and the Bot Framework token and key services, for one or more bots, on one local
 * origin. See docs/simulators/teams.md.
 *
 * ```ts
 * const teams = new TeamsSimulator();
 * await teams.start();
 * teams.registerBot({ appId, secret, tenantId, messagingEndpoint: `${gateway}/api/teams/messages` });
 * const ana = teams.addUser({ name: 'Ana Lopez' });
 * const { conversationId } = await teams.install(appId, ana.id);
 * await teams.say(appId, ana.id, 'I need to reset my password');
 * teams.transcript(conversationId); // what the bot sent back
 * ```
 */
export class TeamsSimulator {
  readonly clock: SimulatorClock;
  readonly connectorRequests: TeamsConnectorRequestRecord[] = [];
  readonly inboundDeliveries: TeamsInboundDelivery[] = [];
  readonly store: TeamsConversationStore;
  private readonly keys = new TeamsKeyService();
  private readonly tokens: TeamsTokenIssuer;
  private readonly limiter: TeamsRateLimiter;
  private readonly faults = new TeamsConnectorFaultInjector();
  private readonly sender: TeamsInboundSender;
  private readonly router = new SimulatorRouter();
  private readonly defaultRegion: string;
  private server?: Server;
  private url?: string;

  constructor(private readonly options: TeamsSimulatorOptions & { tls?: { key: string; cert: string } } = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultRegion = options.region ?? 'amer';
    this.store = new TeamsConversationStore(this.clock);
    this.tokens = new TeamsTokenIssuer(this.clock, (appId) => this.store.bots.get(appId), options.tokenLifetimeSeconds);
    this.limiter = new TeamsRateLimiter(this.clock);
    this.sender = new TeamsInboundSender(this.keys, this.clock, this.inboundDeliveries, options.deliveryTimeoutMs ?? 15_000);
    registerTeamsAuthRoutes(this.router, this.keys, this.tokens, () => this.baseUrl);
    registerTeamsControlRoutes(this.router, this);
    registerTeamsConsoleRoutes(this.router);
    registerTeamsConnectorRoutes(this.router, {
      store: this.store,
      tokens: this.tokens,
      limiter: this.limiter,
      faults: this.faults,
      clock: this.clock,
      maxActivityBytes: options.maxActivityBytes ?? 100 * 1024,
      requests: this.connectorRequests,
    });
  }

  /** Listens on `port` (0 picks a free one) and returns the base URL, e.g. `http://127.0.0.1:41234`. */
  async start(port = 0): Promise<string> {
    if (this.url) return this.url;
    const tls = this.options.tls;
    const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => void this.router.handle(req, res)) : this.router.createServer();
    const url = await listen(server, port, this.options.host);
    this.server = server;
    this.url = tls ? url.replace(/^http:/, 'https:') : url;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.url = undefined;
    if (server) await close(server);
  }

  get baseUrl(): string {
    if (!this.url) throw new Error('TeamsSimulator is not started');
    return this.url;
  }

  get openIdMetadataUrl(): string {
    return `${this.baseUrl}/v1/.well-known/openidconfiguration`;
  }

  /** `{baseUrl}/{tenant}/oauth2/v2.0/token` with a literal `{tenant}`, for a client that fills the tenant in itself. */
  get tokenEndpointTemplate(): string {
    return `${this.baseUrl}/{tenant}/oauth2/v2.0/token`;
  }

  tokenEndpoint(tenant: string): string {
    return `${this.baseUrl}/${tenant}/oauth2/v2.0/token`;
  }

  /** The Connector of a region, with the trailing slash Teams service URLs have. */
  serviceUrl(region = this.defaultRegion): string {
    return `${this.baseUrl}/${region}/`;
  }

  // ---- bots and users ------------------------------------------------------------------------------------------------

  registerBot(bot: TeamsBotRegistration): void {
    this.store.registerBot(bot);
  }

  /** A user in `tenantId` (default: the first registered bot's tenant), with a generated `29:` id and object id. */
  addUser(user: TeamsUserInput): TeamsUser {
    return this.store.addUser(user, [...this.store.bots.values()][0]?.tenantId);
  }

  users(): TeamsUser[] {
    return [...this.store.users.values()];
  }

  memberships(): TeamsMembership[] {
    return this.store.listMemberships().map((membership) => ({ ...membership }));
  }

  conversationOf(appId: string, userId: string): string | undefined {
    return this.store.findMembership(appId, userId)?.conversationId;
  }

  // ---- what the user does --------------------------------------------------------------------------------------------

  /** Personal-scope install: conversationUpdate (bot and user added), then installationUpdate `add`. */
  async install(appId: string, userId: string, options: { region?: string } = {}): Promise<{ conversationId: string; statuses: number[] }> {
    const membership = this.store.membership(appId, userId, options.region ?? this.defaultRegion);
    if (options.region) membership.region = options.region;
    membership.installed = true;
    membership.everInstalled = true;
    membership.blocked = undefined;
    const statuses = await this.deliverAll(appId, installActivities(this.context(appId, userId)));
    return { conversationId: membership.conversationId, statuses };
  }

  /** installationUpdate `remove`, then conversationUpdate with the bot removed; later sends answer 403. */
  async uninstall(appId: string, userId: string): Promise<{ statuses: number[] }> {
    const membership = this.installed(appId, userId);
    membership.installed = false;
    return { statuses: await this.deliverAll(appId, uninstallActivities(this.context(appId, userId))) };
  }

  /** The user blocks the bot: sends answer 403 `ConversationBlockedByUser`, or the 209 `MessageWritesBlocked` shape. */
  block(appId: string, userId: string, shape: TeamsBlockShape = 'code'): void {
    this.store.membership(appId, userId).blocked = shape;
  }

  unblock(appId: string, userId: string): void {
    this.store.membership(appId, userId).blocked = undefined;
  }

  disableByAdmin(appId: string, tenantId: string, on: boolean): void {
    this.store.setDisabled(appId, tenantId, on);
  }

  /** Later activities of this user carry another region's service URL (the bot must follow it). */
  moveRegion(appId: string, userId: string, region: string): void {
    this.store.membership(appId, userId).region = region;
  }

  async say(appId: string, userId: string, text: string, options: { fault?: InboundFault; html?: boolean; id?: string } = {}): Promise<{ status: number; activityId: string }> {
    const activityId = options.id ?? this.store.newActivityId();
    const activity = messageActivity(this.context(appId, userId), activityId, text, options.html);
    const { status } = await this.deliver(appId, activity, { fault: options.fault });
    return { status, activityId };
  }

  /** An Adaptive Card Action.Submit: a message with empty text and `value`. */
  async submitCard(appId: string, userId: string, value: Record<string, unknown>, options: { replyToId?: string; fault?: InboundFault } = {}): Promise<{ status: number; activityId: string }> {
    const activityId = this.store.newActivityId();
    const { status } = await this.deliver(appId, cardSubmitActivity(this.context(appId, userId), activityId, value, options.replyToId), { fault: options.fault });
    return { status, activityId };
  }

  async readReceipt(appId: string, userId: string, lastReadMessageId: string): Promise<{ status: number }> {
    const { status } = await this.deliver(appId, readReceiptActivity(this.context(appId, userId), this.store.newActivityId(), lastReadMessageId));
    return { status };
  }

  /** The envelope Teams would put around an activity of this user (to build reactions, edits, unknown types...). */
  activityFor(appId: string, userId: string, type: string, id = this.store.newActivityId()): Record<string, unknown> {
    return baseActivity(this.context(appId, userId), type, id);
  }

  /** Delivers any activity as it is, signed for `appId` with `serviceurl` = its `serviceUrl`. */
  postActivity(appId: string, activity: Record<string, unknown>, options: { fault?: InboundFault; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
    return this.deliver(appId, activity, options);
  }

  // ---- keys, tokens, faults, limits --------------------------------------------------------------------------------

  /** A new signing key with a new `kid`; the old one stays in the key set unless `keepOld` is false. */
  rotateKeys(options: { keepOld?: boolean } = {}): string {
    return this.keys.rotate(options.keepOld ?? true);
  }

  /** The `Authorization` value the Connector would send to `appId` for `serviceUrl` (with a fault, spoiled). */
  inboundAuthorization(appId: string, serviceUrl: string, fault?: InboundFault): string | undefined {
    return this.sender.authorization(appId, serviceUrl, fault);
  }

  addConnectorFault(fault: TeamsConnectorFault): void {
    this.faults.add(fault);
  }

  clearConnectorFaults(): void {
    this.faults.clear();
  }

  pendingConnectorFaults(): TeamsConnectorFault[] {
    return this.faults.pending();
  }

  setRateLimit(on: boolean, limits?: TeamsRateLimits): void {
    this.limiter.configure(on, limits);
  }

  tokenFault(fault: { error: TeamsTokenFaultKind; count?: number }): void {
    this.tokens.addFault(fault.error, fault.count);
  }

  setTokenLifetime(seconds: number): void {
    this.tokens.lifetimeSeconds = seconds;
  }

  get tokensIssued(): number {
    return this.tokens.tokensIssued;
  }

  // ---- what the bot did ----------------------------------------------------------------------------------------------

  transcript(conversationId: string): TeamsTranscriptEntry[] {
    return [...(this.store.conversation(conversationId)?.transcript ?? [])];
  }

  /** Resolves with the first transcript entry (already there or coming) of the conversation that matches. */
  waitForTranscript(conversationId: string, predicate: (entry: TeamsTranscriptEntry) => boolean = () => true, timeoutMs = 10_000): Promise<TeamsTranscriptEntry> {
    const existing = this.store.conversation(conversationId)?.transcript.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const listener = (id: string, entry: TeamsTranscriptEntry) => {
        if (id !== conversationId || !predicate(entry)) return;
        cleanup();
        resolve(entry);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Teams simulator: no matching transcript entry in ${conversationId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.store.events.off('transcript', listener);
      };
      this.store.events.on('transcript', listener);
    });
  }

  // ---- internals -----------------------------------------------------------------------------------------------------

  private installed(appId: string, userId: string): TeamsMembership {
    const membership = this.store.findMembership(appId, userId);
    if (!membership?.installed) throw new TeamsControlError(409, `Bot ${appId} is not installed for ${userId}`);
    return membership;
  }

  private context(appId: string, userId: string): TeamsActivityContext {
    const bot = this.store.bot(appId);
    const membership = this.store.membership(appId, userId);
    return { bot, user: this.store.user(userId), conversationId: membership.conversationId, serviceUrl: this.serviceUrl(membership.region), now: this.clock.now() };
  }

  private deliver(appId: string, activity: Record<string, unknown>, options: { fault?: InboundFault; headers?: Record<string, string> } = {}) {
    return this.sender.deliver(appId, this.store.bot(appId).messagingEndpoint, activity, options);
  }

  private async deliverAll(appId: string, activities: Record<string, unknown>[]): Promise<number[]> {
    const statuses: number[] = [];
    for (const activity of activities) statuses.push((await this.deliver(appId, activity)).status);
    return statuses;
  }
}
