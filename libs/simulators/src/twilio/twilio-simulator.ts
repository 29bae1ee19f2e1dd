import { Server } from 'node:http';
import { SimulatorClock, systemClock } from '../clock/simulator-clock';
import { close, listen, SimulatorRouter } from '../http/simulator-http';
import { API_VERSION, registerTwilioApiRoutes } from './twilio-api.routes';
import { registerTwilioConsoleRoutes } from './twilio-console.routes';
import { registerTwilioControlRoutes } from './twilio-control-api.routes';
import { DEFAULT_REPLIES, keywordOf } from './twilio-keywords';
import { E164, newSid, TwilioControlError, TwilioMessagingStore } from './twilio-messaging.store';
import { smsSegments } from './twilio-segments';
import {
  TwilioFault,
  TwilioMessageRecord,
  TwilioMessageStatus,
  TwilioMessagingService,
  TwilioOutcome,
  TwilioRequestRecord,
  TwilioSendOptions,
  TwilioSimulatorOptions,
  TwilioWebhookRecord,
} from './twilio-simulator.types';
import { TwilioWebhookSender } from './twilio-webhook.sender';

const MEDIA_TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', pdf: 'application/pdf', mp4: 'video/mp4', vcf: 'text/vcard' };

/**
 * Twilio Programmable Messaging for SMS/MMS on one local origin: the REST API (Messages, account, media), the webhook
 * sender (inbound messages and status callbacks, signed with X-Twilio-Signature), the default STOP/START/HELP
 * handling, scripted outcomes and faults, a control API and a phone console. See docs/simulators/twilio.md.
 *
 * ```ts
 * const twilio = new TwilioSimulator();
 * await twilio.start();
 * const { accountSid, authToken } = twilio.addAccount();
 * twilio.addNumber(accountSid, { phoneNumber: '+14155550100', smsUrl: `${gateway}/v1/webhooks/${id}` });
 * await twilio.sendSms('+14155550123', '+14155550100', 'Hi');  // the phone writes to the business
 * twilio.messagesTo('+14155550123');                           // what the business sent back
 * ```
 */
export class TwilioSimulator {
  readonly clock: SimulatorClock;
  readonly store: TwilioMessagingStore;
  /** Every REST request answered, in order. */
  readonly requests: TwilioRequestRecord[] = [];
  /** Every webhook sent (inbound messages and status callbacks), in order. */
  readonly webhooks: TwilioWebhookRecord[] = [];
  private readonly sender: TwilioWebhookSender;
  private readonly router = new SimulatorRouter();
  private readonly statusDelayMs: number;
  private readonly lifecycles = new Set<Promise<void>>();
  private server?: Server;
  private url?: string;

  constructor(private readonly options: TwilioSimulatorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.store = new TwilioMessagingStore(this.clock);
    this.statusDelayMs = options.statusDelayMs ?? 0;
    this.sender = new TwilioWebhookSender(this.clock, this.webhooks, options.webhookTimeoutMs ?? 15_000);
    registerTwilioApiRoutes(this.router, {
      store: this.store,
      clock: this.clock,
      requests: this.requests,
      baseUrl: () => this.baseUrl,
      created: (message) => this.track(this.runLifecycle(message)),
    });
    registerTwilioControlRoutes(this.router, this);
    registerTwilioConsoleRoutes(this.router);
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
    const server = this.server;
    this.server = undefined;
    this.url = undefined;
    if (server) await close(server);
  }

  get baseUrl(): string {
    if (!this.url) throw new Error('TwilioSimulator is not started');
    return this.url;
  }

  /** The gateway's API base URL setting: `${apiBaseUrl}/2010-04-01/Accounts/...` is the REST API. */
  get apiBaseUrl(): string {
    return this.baseUrl;
  }

  // ---- accounts and numbers ------------------------------------------------------------------------------------------

  addAccount(input: { accountSid?: string; authToken?: string; mediaBasicAuth?: boolean } = {}): { accountSid: string; authToken: string } {
    const { accountSid, authToken } = this.store.addAccount(input);
    return { accountSid, authToken };
  }

  /** A phone number owned by the account, its SMS webhook POSTed to `smsUrl` (or really to `deliverTo`, see the type). */
  addNumber(accountSid: string, number: { phoneNumber: string; smsUrl: string; deliverTo?: string }): void {
    this.store.addNumber(accountSid, number);
  }

  setSmsUrl(phoneNumber: string, url: string, deliverTo?: string): void {
    const number = this.store.number(phoneNumber);
    this.store.addNumber(number.accountSid, { phoneNumber, smsUrl: url, deliverTo });
    if (number.messagingServiceSid) this.store.number(phoneNumber).messagingServiceSid = number.messagingServiceSid;
  }

  /** A Messaging Service over numbers of the account: sends by MessagingServiceSid, opt-outs kept for the whole service. */
  addMessagingService(accountSid: string, service: { sid?: string; phoneNumbers: string[] }): TwilioMessagingService {
    return this.store.addMessagingService(accountSid, service);
  }

  // ---- what the phone does -------------------------------------------------------------------------------------------

  /**
   * The phone `from` texts the business number `to`: the opt-out keywords are applied and answered first (as Twilio
   * does), then the message is POSTed to the number's webhook, signed (or spoiled as `signatureFault` says).
   */
  async sendSms(from: string, to: string, body: string, options: TwilioSendOptions = {}): Promise<{ status: number; body: string; messageSid: string }> {
    if (!E164.test(from)) throw new TwilioControlError(400, 'from must be E.164 (+14155550123)');
    const number = this.store.number(to);
    const account = this.store.account(number.accountSid);
    const mediaCount = (options.mediaUrls?.length ?? 0) + (options.media?.length ?? 0);
    const messageSid = options.messageSid ?? newSid(mediaCount > 0 ? 'MM' : 'SM');
    const now = this.clock.now();
    if (!this.store.messages.has(messageSid)) {
      this.store.save({
        sid: messageSid,
        accountSid: account.accountSid,
        messagingServiceSid: number.messagingServiceSid ?? null,
        direction: 'inbound',
        from,
        to,
        body,
        mediaUrls: [],
        numSegments: smsSegments(body),
        status: 'received',
        errorCode: null,
        statusCallback: null,
        dateCreated: now,
        dateUpdated: now,
        dateSent: now,
        statusHistory: ['received'],
        callbacks: [],
      });
    }
    const keyword = keywordOf(body);
    if (keyword) this.applyKeyword(keyword, to, from);
    const mediaParams: Array<[string, string]> = [];
    const media = [
      ...(options.mediaUrls ?? []).map((url) => ({ contentType: MEDIA_TYPES[url.split('?')[0].split('.').pop()?.toLowerCase() ?? ''] ?? 'image/jpeg', redirectTo: url })),
      ...(options.media ?? []).map((item) => ({ contentType: item.contentType, content: Buffer.from(item.content) })),
    ];
    media.forEach((item, index) => {
      const sid = newSid('ME');
      this.store.media.set(sid, { sid, accountSid: account.accountSid, messageSid, ...item });
      const url = `${this.baseUrl}/${API_VERSION}/Accounts/${account.accountSid}/Messages/${messageSid}/Media/${sid}`;
      this.store.messages.get(messageSid)?.mediaUrls.push(url);
      mediaParams.push([`MediaContentType${index}`, item.contentType], [`MediaUrl${index}`, url]);
    });
    const params: Array<[string, string]> = [
      ['ToCountry', 'US'],
      ['ToState', ''],
      ['SmsMessageSid', messageSid],
      ['NumMedia', String(media.length)],
      ['ToCity', ''],
      ['FromZip', ''],
      ['SmsSid', messageSid],
      ['FromState', ''],
      ['SmsStatus', 'received'],
      ['FromCity', ''],
      ['Body', body],
      ['FromCountry', 'US'],
      ['To', to],
      ...(number.messagingServiceSid ? ([['MessagingServiceSid', number.messagingServiceSid]] as Array<[string, string]>) : []),
      ['ToZip', ''],
      ['NumSegments', String(smsSegments(body))],
      ['MessageSid', messageSid],
      ['AccountSid', account.accountSid],
      ['From', from],
      ['ApiVersion', API_VERSION],
      ...(keyword ? ([['OptOutType', keyword]] as Array<[string, string]>) : []),
      ...mediaParams,
      ...Object.entries(options.extraParams ?? {}),
    ];
    const record = await this.sender.deliver({
      kind: 'inbound',
      messageSid,
      url: number.smsUrl,
      deliverTo: number.deliverTo,
      params: shuffle(params),
      authToken: account.authToken,
      signatureFault: options.signatureFault,
      portVariant: options.portVariant,
    });
    return { status: record.httpStatus, body: record.responseBody, messageSid };
  }

  // ---- outcomes, opt-outs, faults ------------------------------------------------------------------------------------

  /** What becomes of later messages to `phone` (default `delivered`). */
  setOutcome(phone: string, outcome: TwilioOutcome): void {
    if (!/^(delivered|sent|(undelivered|failed|rejected):\d{5})$/.test(outcome)) throw new TwilioControlError(400, `outcome ${outcome} is not delivered, sent, undelivered:NNNNN, failed:NNNNN or rejected:NNNNN`);
    this.store.outcomes.set(phone, outcome);
  }

  clearOutcomes(): void {
    this.store.outcomes.clear();
  }

  /** The next `count` (default 1) message creations answer this. */
  addFault(fault: TwilioFault): void {
    this.store.addFault(fault);
  }

  clearFaults(): void {
    this.store.clearFaults();
  }

  pendingFaults(): TwilioFault[] {
    return this.store.pendingFaults();
  }

  /** Whether `recipient` opted out of `sender` (a number, or the Messaging Service it is in). */
  optedOut(sender: string, recipient: string): boolean {
    return this.store.services.has(sender) ? this.store.optOuts.has(`${sender}|${recipient}`) : this.store.optedOut(sender, recipient);
  }

  setOptOut(sender: string, recipient: string, on: boolean): void {
    this.store.setOptOut(sender, recipient, on);
  }

  // ---- what the business did -----------------------------------------------------------------------------------------

  /** What the business sent to `phone` (API sends and Twilio's automatic replies), in order, with their status now. */
  messagesTo(phone: string): TwilioMessageRecord[] {
    return this.store.messagesOf(phone, 'to').filter((message) => message.direction !== 'inbound');
  }

  /** Both directions between a phone and a business number, in order. */
  conversation(phone: string, businessNumber: string): TwilioMessageRecord[] {
    return [...this.store.messages.values()].filter((message) => (message.from === phone && message.to === businessNumber) || (message.to === phone && message.from === businessNumber));
  }

  message(sid: string): TwilioMessageRecord | undefined {
    return this.store.messages.get(sid);
  }

  /** Resolves with the first message (there or coming) that matches, e.g. one to a phone that reached `delivered`. */
  waitForMessage(predicate: (message: TwilioMessageRecord) => boolean, timeoutMs = 10_000): Promise<TwilioMessageRecord> {
    const existing = [...this.store.messages.values()].find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const listener = (message: TwilioMessageRecord) => {
        if (!predicate(message)) return;
        cleanup();
        resolve(message);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Twilio simulator: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.store.events.off('message', listener);
      };
      this.store.events.on('message', listener);
    });
  }

  /** Resolves when every status change under way (and its callback) is done. */
  async settled(): Promise<void> {
    while (this.lifecycles.size > 0) await Promise.all([...this.lifecycles]);
  }

  // ---- internals -----------------------------------------------------------------------------------------------------

  private applyKeyword(keyword: 'STOP' | 'START' | 'HELP', businessNumber: string, phone: string): void {
    const optedOut = this.store.optedOut(businessNumber, phone);
    // HELP gets no answer from Twilio while the phone is opted out.
    if (keyword === 'HELP' && optedOut) return;
    if (keyword === 'STOP') this.store.setOptOut(businessNumber, phone, true);
    if (keyword === 'START') this.store.setOptOut(businessNumber, phone, false);
    const number = this.store.number(businessNumber);
    const now = this.clock.now();
    const body = DEFAULT_REPLIES[keyword];
    const reply: TwilioMessageRecord = {
      sid: newSid('SM'),
      accountSid: number.accountSid,
      messagingServiceSid: number.messagingServiceSid ?? null,
      direction: 'outbound-reply',
      from: businessNumber,
      to: phone,
      body,
      mediaUrls: [],
      numSegments: smsSegments(body),
      status: 'delivered',
      errorCode: null,
      statusCallback: null,
      dateCreated: now,
      dateUpdated: now,
      dateSent: now,
      statusHistory: ['queued', 'sent', 'delivered'],
      callbacks: [],
    };
    this.store.save(reply);
  }

  private track(lifecycle: Promise<void>): void {
    this.lifecycles.add(lifecycle);
    void lifecycle.finally(() => this.lifecycles.delete(lifecycle));
  }

  /** The message's status changes after creation, each followed by its status callback when one was asked for. */
  private async runLifecycle(message: TwilioMessageRecord): Promise<void> {
    const outcome = this.store.outcomes.get(message.to) ?? 'delivered';
    const steps: Array<[TwilioMessageStatus, number | null]> = message.messagingServiceSid ? [['queued', null]] : [];
    const [kind, code] = outcome.split(':');
    if (kind === 'failed') steps.push(['failed', Number(code)]);
    else {
      steps.push(['sent', null]);
      if (kind === 'delivered') steps.push(['delivered', null]);
      if (kind === 'undelivered') steps.push(['undelivered', Number(code)]);
    }
    for (const [status, errorCode] of steps) {
      if (this.statusDelayMs > 0) await this.clock.wait(this.statusDelayMs);
      this.store.setStatus(message, status, errorCode);
      if (message.statusCallback) await this.statusCallback(message, status, errorCode);
    }
  }

  private async statusCallback(message: TwilioMessageRecord, status: TwilioMessageStatus, errorCode: number | null): Promise<void> {
    const account = this.store.account(message.accountSid);
    const params: Array<[string, string]> = [
      ['SmsSid', message.sid],
      ['SmsStatus', status],
      ['MessageStatus', status],
      ['To', message.to],
      ...(message.messagingServiceSid ? ([['MessagingServiceSid', message.messagingServiceSid]] as Array<[string, string]>) : []),
      ['MessageSid', message.sid],
      ['AccountSid', message.accountSid],
      ['From', message.from],
      ['ApiVersion', API_VERSION],
      ...(errorCode !== null ? ([['ErrorCode', String(errorCode)]] as Array<[string, string]>) : []),
    ];
    const record = await this.sender.deliver({ kind: 'status', messageSid: message.sid, url: message.statusCallback!, params, authToken: account.authToken });
    message.callbacks.push({ status, httpStatus: record.httpStatus, at: record.at });
    this.store.events.emit('message', message);
  }
}

/** Twilio's parameter order is not a contract: a handler must not depend on it. */
function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
