import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SimulatorClock } from '../clock/simulator-clock';
import { HttpError } from '../http/simulator-http';
import {
  WhatsAppBusiness,
  WhatsAppBusinessInput,
  WhatsAppInboundRecord,
  WhatsAppSentRecord,
  WhatsAppTemplate,
  WhatsAppTemplateInput,
  WhatsAppUserState,
} from './whatsapp-simulator.types';

/** The customer service window: free-form messages only this long after the user's last message. */
export const SERVICE_WINDOW_MS = 24 * 3600_000;
/** A typing indicator disappears after this long, or when the business sends a message. */
export const TYPING_INDICATOR_MS = 25_000;

export interface StoredMedia {
  id: string;
  phoneNumberId: string;
  mimeType: string;
  sha256: string;
  content: Buffer;
}

/** An error of the control API and the programmatic API (unknown business, bad input). */
export class WhatsAppControlError extends HttpError {
  constructor(status: number, message: string) {
    super(status, { message });
    this.message = message;
  }
}

/** Everything the simulator knows: businesses, templates, users, windows, messages both ways and media. */
export class WhatsAppBusinessStore {
  readonly businesses = new Map<string, WhatsAppBusiness>();
  readonly templates = new Map<string, WhatsAppTemplate[]>();
  readonly users = new Map<string, WhatsAppUserState & { name?: string }>();
  readonly sent: WhatsAppSentRecord[] = [];
  readonly inbound: WhatsAppInboundRecord[] = [];
  readonly media = new Map<string, StoredMedia>();
  readonly expiredTokens = new Set<string>();
  /** `sent` (a WhatsAppSentRecord changed or was added), `inbound`. */
  readonly events = new EventEmitter();
  private readonly lastInbound = new Map<string, number>();
  private counter = 0;

  constructor(private readonly clock: SimulatorClock) {
    this.events.setMaxListeners(0);
  }

  addBusiness(input: WhatsAppBusinessInput): WhatsAppBusiness {
    const business: WhatsAppBusiness = {
      wabaId: input.wabaId ?? this.digits(15),
      phoneNumberId: input.phoneNumberId ?? this.digits(15),
      displayPhoneNumber: input.displayPhoneNumber ?? `1555${this.digits(7)}`,
      verifiedName: input.verifiedName ?? 'Simulated Business',
      accessToken: input.accessToken ?? `EAAG${randomBytes(24).toString('base64url')}`,
      appSecret: input.appSecret ?? randomBytes(16).toString('hex'),
      verifyToken: input.verifyToken ?? randomBytes(12).toString('base64url'),
      callbackUrl: input.callbackUrl,
    };
    if (!business.callbackUrl) throw new WhatsAppControlError(400, 'callbackUrl is required');
    this.businesses.set(business.phoneNumberId, business);
    if (!this.templates.has(business.wabaId)) this.templates.set(business.wabaId, []);
    return business;
  }

  business(phoneNumberId: string): WhatsAppBusiness {
    const business = this.businesses.get(phoneNumberId);
    if (!business) throw new WhatsAppControlError(404, `No business phone number ${phoneNumberId}`);
    return business;
  }

  businessByToken(token: string): WhatsAppBusiness | undefined {
    for (const business of this.businesses.values()) if (business.accessToken === token) return business;
    return undefined;
  }

  addTemplate(wabaId: string, input: WhatsAppTemplateInput): WhatsAppTemplate {
    const list = this.templates.get(wabaId);
    if (!list) throw new WhatsAppControlError(404, `No WhatsApp Business Account ${wabaId}`);
    if (!input.name || !input.language || !input.body) throw new WhatsAppControlError(400, 'name, language and body are required');
    const numbers = new Set([...input.body.matchAll(/\{\{(\d+)\}\}/g)].map((match) => match[1]));
    const template: WhatsAppTemplate = {
      id: this.digits(15),
      wabaId,
      name: input.name,
      language: input.language,
      category: input.category ?? 'UTILITY',
      status: input.status ?? 'APPROVED',
      body: input.body,
      quickReplies: input.quickReplies ?? [],
      parameterCount: numbers.size,
    };
    const index = list.findIndex((other) => other.name === template.name && other.language === template.language);
    if (index >= 0) list[index] = { ...template, id: list[index].id };
    else list.push(template);
    return template;
  }

  user(waId: string): WhatsAppUserState & { name?: string } {
    let user = this.users.get(waId);
    if (!user) {
      user = { onWhatsApp: true, blocked: false, stoppedMarketing: false, marketingCapped: false };
      this.users.set(waId, user);
    }
    return user;
  }

  /** The user's message opens (or refreshes) the 24-hour window with this business number. */
  touchWindow(phoneNumberId: string, waId: string): void {
    this.lastInbound.set(`${phoneNumberId}|${waId}`, this.clock.now());
  }

  windowOpen(phoneNumberId: string, waId: string): boolean {
    const last = this.lastInbound.get(`${phoneNumberId}|${waId}`);
    return last !== undefined && this.clock.now() - last < SERVICE_WINDOW_MS;
  }

  recordSent(record: WhatsAppSentRecord): void {
    this.sent.push(record);
    this.events.emit('sent', record);
  }

  updateSent(record: WhatsAppSentRecord, change: Partial<WhatsAppSentRecord>): void {
    Object.assign(record, change);
    this.events.emit('sent', record);
  }

  sentTo(phoneNumberId: string, waId: string): WhatsAppSentRecord[] {
    return this.sent.filter((record) => record.phoneNumberId === phoneNumberId && record.to === waId);
  }

  recordInbound(record: WhatsAppInboundRecord): void {
    this.inbound.push(record);
    this.events.emit('inbound', record);
  }

  inboundFrom(phoneNumberId: string, waId: string): WhatsAppInboundRecord[] {
    return this.inbound.filter((record) => record.phoneNumberId === phoneNumberId && record.from === waId);
  }

  /** Whether "typing…" shows in the user's chat now: set within 25 s and no message sent since. */
  typingShown(phoneNumberId: string, waId: string): boolean {
    const typingAt = Math.max(0, ...this.inboundFrom(phoneNumberId, waId).map((record) => record.typingAt ?? 0));
    const lastSent = Math.max(0, ...this.sentTo(phoneNumberId, waId).map((record) => record.at));
    return typingAt > 0 && typingAt >= lastSent && this.clock.now() - typingAt < TYPING_INDICATOR_MS;
  }

  addMedia(phoneNumberId: string, content: Buffer, mimeType: string): StoredMedia {
    const media = { id: this.digits(16), phoneNumberId, mimeType, sha256: createHash('sha256').update(content).digest('base64'), content };
    this.media.set(media.id, media);
    return media;
  }

  messageId(): string {
    return `wamid.${Buffer.from(`HBgL${this.digits(12)}${(++this.counter).toString(16)}${randomBytes(6).toString('hex')}`).toString('base64')}`;
  }

  private digits(length: number): string {
    let out = String(1 + (randomBytes(1)[0] % 9));
    while (out.length < length) out += String(randomBytes(1)[0] % 10);
    return out;
  }
}
