import { Server } from 'node:http';
import { SimulatorClock, systemClock } from '../clock/simulator-clock';
import { close, listen, SimulatorRouter } from '../http/simulator-http';
import { WhatsAppBusinessStore, WhatsAppControlError } from './whatsapp-business.store';
import { registerWhatsAppConsoleRoutes } from './whatsapp-console.routes';
import { registerWhatsAppControlRoutes } from './whatsapp-control-api.routes';
import { statusError } from './whatsapp-graph-error';
import { registerWhatsAppGraphRoutes } from './whatsapp-graph.routes';
import { WHATSAPP_DEFAULT_THROUGHPUT, WhatsAppRateLimiter } from './whatsapp-rate.limiter';
import {
  WhatsAppBusiness,
  WhatsAppBusinessInput,
  WhatsAppFault,
  WhatsAppGraphRequestRecord,
  WhatsAppInboundRecord,
  WhatsAppSentRecord,
  WhatsAppSignatureFault,
  WhatsAppSimulatorOptions,
  WhatsAppTemplate,
  WhatsAppTemplateInput,
  WhatsAppUserState,
  WhatsAppWebhookDelivery,
} from './whatsapp-simulator.types';
import { envelope, WhatsAppWebhookSender } from './whatsapp-webhook.sender';

export const DEFAULT_GRAPH_VERSION = 'v23.0';

export interface WhatsAppInboundOptions {
  /** The user's WhatsApp profile name (kept for later messages). */
  name?: string;
  signatureFault?: WhatsAppSignatureFault;
  /** The message this one answers or quotes (`context`). */
  contextId?: string;
}

/**
 * Meta's WhatsApp Cloud API for one or more businesses on one local origin: the Graph API (messages, templates, media,
 * mark read and typing), the customer service window, throughput and pair-rate limits, users who are not on WhatsApp,
 * blocked the business or stopped marketing, and the signed webhooks to the business's callback URL. See
 * docs/simulators/whatsapp.md.
 *
 * ```ts
 * const whatsapp = new WhatsAppSimulator();
 * await whatsapp.start();
 * const business = whatsapp.addBusiness({ callbackUrl: `${service}/v1/webhooks/${gatewayId}` });
 * whatsapp.addTemplate(business.wabaId, { name: 'order_update', language: 'en_US', category: 'UTILITY', body: 'Hi {{1}}' });
 * await whatsapp.userSays(business.phoneNumberId, '34600111222', 'Hola');
 * whatsapp.sentTo(business.phoneNumberId, '34600111222'); // what the business sent back
 * ```
 */
export class WhatsAppSimulator {
  readonly clock: SimulatorClock;
  readonly store: WhatsAppBusinessStore;
  readonly webhookDeliveries: WhatsAppWebhookDelivery[] = [];
  readonly graphRequests: WhatsAppGraphRequestRecord[] = [];
  readonly graphVersion: string;
  private readonly limiter: WhatsAppRateLimiter;
  private readonly faults: Array<WhatsAppFault & { remaining: number }> = [];
  private readonly sender: WhatsAppWebhookSender;
  private readonly router = new SimulatorRouter();
  /** Status webhooks go out one after another, in the order the messages were accepted. */
  private outbox: Promise<void> = Promise.resolve();
  private server?: Server;
  private url?: string;

  constructor(private readonly options: WhatsAppSimulatorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.graphVersion = options.graphVersion ?? DEFAULT_GRAPH_VERSION;
    this.store = new WhatsAppBusinessStore(this.clock);
    this.limiter = new WhatsAppRateLimiter(this.clock, options.throughputPerSecond ?? WHATSAPP_DEFAULT_THROUGHPUT, options.pairBurst, options.pairIntervalMs);
    this.sender = new WhatsAppWebhookSender(this.clock, this.webhookDeliveries, options.deliveryTimeoutMs ?? 20_000);
    registerWhatsAppControlRoutes(this.router, this);
    registerWhatsAppConsoleRoutes(this.router);
    registerWhatsAppGraphRoutes(this.router, {
      store: this.store,
      limiter: this.limiter,
      clock: this.clock,
      faults: this.faults,
      requests: this.graphRequests,
      graphVersion: () => this.graphVersion,
      baseUrl: () => this.baseUrl,
      accepted: (record) => this.scheduleStatuses(record),
    });
  }

  /** Listens on `port` (0 picks a free one) and returns the base URL, e.g. `http://127.0.0.1:41234`. */
  async start(port = 0): Promise<string> {
    if (this.url) return this.url;
    const server = this.router.createServer();
    this.url = await listen(server, port, this.options.host);
    this.server = server;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.settled();
    const server = this.server;
    this.server = undefined;
    this.url = undefined;
    if (server) await close(server);
  }

  get baseUrl(): string {
    if (!this.url) throw new Error('WhatsAppSimulator is not started');
    return this.url;
  }

  /** What the gateway's Graph base URL setting is set to (the version is a separate setting). */
  get graphBaseUrl(): string {
    return this.baseUrl;
  }

  // ---- businesses and templates --------------------------------------------------------------------------------------

  addBusiness(input: WhatsAppBusinessInput): Pick<WhatsAppBusiness, 'wabaId' | 'phoneNumberId' | 'accessToken' | 'appSecret' | 'verifyToken' | 'displayPhoneNumber'> {
    const { wabaId, phoneNumberId, accessToken, appSecret, verifyToken, displayPhoneNumber } = this.store.addBusiness(input);
    return { wabaId, phoneNumberId, accessToken, appSecret, verifyToken, displayPhoneNumber };
  }

  businesses(): WhatsAppBusiness[] {
    return [...this.store.businesses.values()];
  }

  setCallbackUrl(phoneNumberId: string, url: string): void {
    this.store.business(phoneNumberId).callbackUrl = url;
  }

  /** Meta's verification handshake against the callback URL: ok when it answers 200 with the challenge. */
  verifyCallback(phoneNumberId: string, options: { verifyToken?: string } = {}): Promise<{ ok: boolean; status: number }> {
    return this.sender.verify(this.store.business(phoneNumberId), options.verifyToken);
  }

  addTemplate(wabaId: string, template: WhatsAppTemplateInput): void {
    this.store.addTemplate(wabaId, template);
  }

  templates(wabaId: string): WhatsAppTemplate[] {
    return [...(this.store.templates.get(wabaId) ?? [])];
  }

  /** The business's access token stops working (Graph error 190) until `renewToken`. */
  expireToken(phoneNumberId: string): void {
    this.store.expiredTokens.add(this.store.business(phoneNumberId).accessToken);
  }

  renewToken(phoneNumberId: string): void {
    this.store.expiredTokens.delete(this.store.business(phoneNumberId).accessToken);
  }

  // ---- users ---------------------------------------------------------------------------------------------------------

  setUser(waId: string, state: Partial<WhatsAppUserState> & { name?: string }): void {
    Object.assign(this.store.user(waId), Object.fromEntries(Object.entries(state).filter(([, value]) => value !== undefined)));
  }

  users(): Array<WhatsAppUserState & { waId: string; name?: string }> {
    return [...this.store.users.entries()].map(([waId, user]) => ({ waId, ...user }));
  }

  windowOpen(phoneNumberId: string, waId: string): boolean {
    return this.store.windowOpen(phoneNumberId, waId);
  }

  /** Whether the business's typing indicator shows in the user's chat now. */
  typingShown(phoneNumberId: string, waId: string): boolean {
    return this.store.typingShown(phoneNumberId, waId);
  }

  // ---- what the user does --------------------------------------------------------------------------------------------

  userSays(phoneNumberId: string, waId: string, text: string, options: WhatsAppInboundOptions = {}): Promise<{ status: number; messageId: string }> {
    return this.userSends(phoneNumberId, waId, 'text', { text: { body: text } }, text, options);
  }

  /** The user taps a template's quick-reply button: inbound `type: button` with its payload, in the context of the template. */
  userPresses(phoneNumberId: string, waId: string, payload: string, title?: string, options: WhatsAppInboundOptions = {}): Promise<{ status: number; messageId: string }> {
    const template = [...this.store.sentTo(phoneNumberId, waId)].reverse().find((record) => record.template?.buttons.some((button) => button.payload === payload));
    const text = title ?? template?.template?.buttons.find((button) => button.payload === payload)?.title ?? payload;
    const contextId = options.contextId ?? template?.id;
    return this.userSends(phoneNumberId, waId, 'button', { button: { payload, text } }, text, { ...options, contextId });
  }

  /** The user picks a reply button or a list row of an interactive message: inbound `interactive` with its id and title. */
  userChooses(phoneNumberId: string, waId: string, replyId: string, options: WhatsAppInboundOptions = {}): Promise<{ status: number; messageId: string }> {
    const message = [...this.store.sentTo(phoneNumberId, waId)].reverse().find((record) => record.choices?.some((choice) => choice.id === replyId));
    if (!message) throw new WhatsAppControlError(404, `No interactive message to ${waId} has a choice ${replyId}`);
    const title = message.choices!.find((choice) => choice.id === replyId)!.title;
    const kind = message.request.interactive?.type === 'list' ? 'list_reply' : 'button_reply';
    return this.userSends(phoneNumberId, waId, 'interactive', { interactive: { type: kind, [kind]: { id: replyId, title } } }, title, { ...options, contextId: message.id });
  }

  /** The user sends a photo, a file, a voice note or a video: stored as media the business downloads by id. */
  userSendsMedia(
    phoneNumberId: string,
    waId: string,
    media: { content: Buffer; mimeType: string; caption?: string; filename?: string },
    options: WhatsAppInboundOptions = {},
  ): Promise<{ status: number; messageId: string; mediaId: string }> {
    const stored = this.store.addMedia(phoneNumberId, media.content, media.mimeType);
    const type = media.mimeType.startsWith('image/') ? 'image' : media.mimeType.startsWith('video/') ? 'video' : media.mimeType.startsWith('audio/') ? 'audio' : 'document';
    const object = { id: stored.id, mime_type: stored.mimeType, sha256: stored.sha256, ...(media.caption ? { caption: media.caption } : {}), ...(type === 'document' && media.filename ? { filename: media.filename } : {}) };
    return this.userSends(phoneNumberId, waId, type, { [type]: object }, media.caption, options).then((result) => ({ ...result, mediaId: stored.id }));
  }

  /** A reaction to one of the business's messages (empty emoji: removed). Does not open the window. */
  async userReacts(phoneNumberId: string, waId: string, messageId: string, emoji: string): Promise<{ status: number; messageId: string }> {
    const business = this.store.business(phoneNumberId);
    const id = this.store.messageId();
    const body = envelope(business, { contacts: this.contacts(waId), messages: [{ from: waId, id, timestamp: this.timestamp(), type: 'reaction', reaction: { message_id: messageId, emoji } }] });
    const { status } = await this.sender.post(business, body, { kind: 'message', id });
    return { status, messageId: id };
  }

  /** The user opens the chat: every delivered message of the business to them is read (status webhooks `read`). */
  async userReads(phoneNumberId: string, waId: string): Promise<void> {
    for (const record of this.store.sentTo(phoneNumberId, waId)) {
      if (record.status !== 'delivered') continue;
      this.store.updateSent(record, { status: 'read' });
      this.enqueue(() => this.postStatus(record, 'read'));
    }
    await this.settled();
  }

  /** Any webhook body, signed for the business (or spoiled), as it is: batched messages, unknown types, duplicates. */
  postWebhook(phoneNumberId: string, body: unknown, options: { signatureFault?: WhatsAppSignatureFault } = {}): Promise<{ status: number; body: string }> {
    return this.sender.post(this.store.business(phoneNumberId), body, { kind: 'message', id: 'raw' }, options.signatureFault);
  }

  /** The envelope Meta puts around a `value` for this business (to build bodies for `postWebhook`). */
  envelopeFor(phoneNumberId: string, value: Record<string, unknown>): Record<string, unknown> {
    return envelope(this.store.business(phoneNumberId), value);
  }

  // ---- faults and limits ---------------------------------------------------------------------------------------------

  /** The next `count` (default 1) Graph calls answer this Graph error instead. */
  addFault(fault: WhatsAppFault): void {
    if (!Number.isInteger(fault.code)) throw new WhatsAppControlError(400, 'code must be a Graph error code');
    this.faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  pendingFaults(): WhatsAppFault[] {
    return this.faults.map(({ remaining, ...fault }) => ({ ...fault, count: remaining }));
  }

  setThroughput(perSecond: number): void {
    this.limiter.throughputPerSecond = perSecond;
  }

  setPairRate(burst: number, intervalMs = this.limiter.pairIntervalMs): void {
    this.limiter.pairBurst = burst;
    this.limiter.pairIntervalMs = intervalMs;
    this.limiter.reset();
  }

  resetLimits(): void {
    this.limiter.reset();
  }

  // ---- what the business did -----------------------------------------------------------------------------------------

  sentTo(phoneNumberId: string, waId: string): WhatsAppSentRecord[] {
    return this.store.sentTo(phoneNumberId, waId).map((record) => ({ ...record }));
  }

  inboundFrom(phoneNumberId: string, waId: string): WhatsAppInboundRecord[] {
    return this.store.inboundFrom(phoneNumberId, waId).map((record) => ({ ...record }));
  }

  /** Resolves when every status webhook due so far has been delivered. */
  async settled(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.outbox;
      await current;
    } while (current !== this.outbox);
  }

  /** Resolves with the first message the business sent to the user that matches (already there or coming). */
  waitForSent(phoneNumberId: string, waId: string, predicate: (record: WhatsAppSentRecord) => boolean = () => true, timeoutMs = 10_000): Promise<WhatsAppSentRecord> {
    const matches = (record: WhatsAppSentRecord) => record.phoneNumberId === phoneNumberId && record.to === waId && predicate(record);
    const existing = this.store.sent.find(matches);
    if (existing) return Promise.resolve({ ...existing });
    return new Promise((resolve, reject) => {
      const listener = (record: WhatsAppSentRecord) => {
        if (!matches(record)) return;
        cleanup();
        resolve({ ...record });
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`WhatsApp simulator: no matching message to ${waId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.store.events.off('sent', listener);
      };
      this.store.events.on('sent', listener);
    });
  }

  // ---- internals -----------------------------------------------------------------------------------------------------

  private async userSends(
    phoneNumberId: string,
    waId: string,
    type: string,
    object: Record<string, unknown>,
    text: string | undefined,
    options: WhatsAppInboundOptions,
  ): Promise<{ status: number; messageId: string }> {
    const business = this.store.business(phoneNumberId);
    if (!/^\d{6,15}$/.test(waId)) throw new WhatsAppControlError(400, 'waId must be the user\'s phone number, digits only');
    if (options.name) this.store.user(waId).name = options.name;
    const id = this.store.messageId();
    this.store.touchWindow(phoneNumberId, waId);
    this.store.recordInbound({ id, phoneNumberId, from: waId, type, text, at: this.clock.now(), read: false });
    const message = { ...(options.contextId ? { context: { from: business.displayPhoneNumber, id: options.contextId } } : {}), from: waId, id, timestamp: this.timestamp(), type, ...object };
    const body = envelope(business, { contacts: this.contacts(waId), messages: [message] });
    const { status } = await this.sender.post(business, body, { kind: 'message', id }, options.signatureFault);
    return { status, messageId: id };
  }

  private contacts(waId: string): unknown[] {
    const user = this.store.user(waId);
    return [{ profile: { name: user.name ?? `User ${waId.slice(-4)}` }, wa_id: waId }];
  }

  private timestamp(): string {
    return String(Math.floor(this.clock.now() / 1000));
  }

  /** Why an accepted message will fail, decided when it was accepted (window and user state at that time). */
  private failureOf(record: WhatsAppSentRecord): number | undefined {
    const user = this.store.user(record.to);
    if (!user.onWhatsApp || user.blocked) return 131026;
    if (record.template) {
      if (record.template.category === 'MARKETING' && user.stoppedMarketing) return 131050;
      if (record.template.category === 'MARKETING' && user.marketingCapped) return 131049;
      return undefined;
    }
    return this.store.windowOpen(record.phoneNumberId, record.to) ? undefined : 131047;
  }

  private scheduleStatuses(record: WhatsAppSentRecord): void {
    const failure = this.failureOf(record);
    const windowOpen = this.store.windowOpen(record.phoneNumberId, record.to);
    this.enqueue(async () => {
      if (failure) {
        this.store.updateSent(record, { status: 'failed', error: statusError(failure) });
        await this.postStatus(record, 'failed');
        return;
      }
      this.store.updateSent(record, { status: 'sent' });
      await this.postStatus(record, 'sent', windowOpen);
      this.store.updateSent(record, { status: 'delivered' });
      await this.postStatus(record, 'delivered', windowOpen);
    });
  }

  private enqueue(task: () => Promise<void>): void {
    this.outbox = this.outbox.then(task).catch(() => undefined);
  }

  private async postStatus(record: WhatsAppSentRecord, status: 'sent' | 'delivered' | 'read' | 'failed', windowOpen = true): Promise<void> {
    const business = this.store.businesses.get(record.phoneNumberId);
    if (!business) return;
    const category = record.template ? record.template.category.toLowerCase() : 'service';
    const item: Record<string, unknown> = { id: record.id, status, timestamp: this.timestamp(), recipient_id: record.to };
    if (record.callbackData) item.biz_opaque_callback_data = record.callbackData;
    if (status === 'failed' && record.error) item.errors = [record.error];
    if (status === 'sent' || status === 'delivered') {
      item.pricing = { billable: category !== 'service' && !(category === 'utility' && windowOpen), pricing_model: 'PMP', type: record.template && !(category === 'utility' && windowOpen) ? 'regular' : 'free_customer_service', category };
    }
    await this.sender.post(business, envelope(business, { statuses: [item] }), { kind: 'status', id: record.id });
  }
}
