import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SimulatorClock } from '../clock/simulator-clock';
import { TwilioAccount, TwilioFault, TwilioMessageRecord, TwilioMessagingService, TwilioOutcome, TwilioPhoneNumber } from './twilio-simulator.types';

/** A control-API mistake (unknown account or number, bad input), answered with its status. */
export class TwilioControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A REST API refusal in Twilio's error shape `{code, message, more_info, status}`. */
export class TwilioApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): Record<string, unknown> {
    return { code: this.code, message: this.message, more_info: `https://www.twilio.com/docs/errors/${this.code}`, status: this.status };
  }
}

/** Hosted media of an inbound MMS. */
export interface TwilioMedia {
  sid: string;
  accountSid: string;
  messageSid: string;
  contentType: string;
  content?: Buffer;
  redirectTo?: string;
}

export const E164 = /^\+[1-9]\d{6,14}$/;

export function newSid(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('hex')}`;
}

/** Accounts, numbers, messages, opt-outs, scripted outcomes and faults: the simulator's state, in memory. */
export class TwilioMessagingStore {
  readonly accounts = new Map<string, TwilioAccount>();
  readonly numbers = new Map<string, TwilioPhoneNumber>();
  readonly services = new Map<string, TwilioMessagingService>();
  readonly messages = new Map<string, TwilioMessageRecord>();
  readonly media = new Map<string, TwilioMedia>();
  readonly outcomes = new Map<string, TwilioOutcome>();
  /** `${sender}|${recipient}`, the sender being the Messaging Service when the number is in one. */
  readonly optOuts = new Set<string>();
  /** 'message' (a record added or changed). */
  readonly events = new EventEmitter();
  private faults: Array<TwilioFault & { remaining: number }> = [];

  constructor(private readonly clock: SimulatorClock) {
    this.events.setMaxListeners(0);
  }

  addAccount(input: { accountSid?: string; authToken?: string; mediaBasicAuth?: boolean } = {}): TwilioAccount {
    const accountSid = input.accountSid ?? newSid('AC');
    if (!/^AC[0-9a-f]{32}$/.test(accountSid)) throw new TwilioControlError(400, 'accountSid must be AC followed by 32 hex digits');
    const account = { accountSid, authToken: input.authToken ?? randomBytes(16).toString('hex'), mediaBasicAuth: input.mediaBasicAuth ?? false };
    this.accounts.set(accountSid, account);
    return account;
  }

  account(accountSid: string): TwilioAccount {
    const account = this.accounts.get(accountSid);
    if (!account) throw new TwilioControlError(404, `No account ${accountSid}`);
    return account;
  }

  addNumber(accountSid: string, input: { phoneNumber: string; smsUrl: string; deliverTo?: string }): TwilioPhoneNumber {
    this.account(accountSid);
    if (!E164.test(input.phoneNumber)) throw new TwilioControlError(400, 'phoneNumber must be E.164 (+14155550100)');
    checkUrl(input.smsUrl, 'smsUrl');
    if (input.deliverTo) checkUrl(input.deliverTo, 'deliverTo');
    const number: TwilioPhoneNumber = { accountSid, phoneNumber: input.phoneNumber, smsUrl: input.smsUrl, smsMethod: 'POST', ...(input.deliverTo ? { deliverTo: input.deliverTo } : {}) };
    this.numbers.set(input.phoneNumber, number);
    return number;
  }

  number(phoneNumber: string): TwilioPhoneNumber {
    const number = this.numbers.get(phoneNumber);
    if (!number) throw new TwilioControlError(404, `No Twilio number ${phoneNumber}`);
    return number;
  }

  addMessagingService(accountSid: string, input: { sid?: string; phoneNumbers: string[] }): TwilioMessagingService {
    this.account(accountSid);
    const service = { sid: input.sid ?? newSid('MG'), accountSid, phoneNumbers: [...input.phoneNumbers] };
    for (const phoneNumber of service.phoneNumbers) {
      const number = this.number(phoneNumber);
      if (number.accountSid !== accountSid) throw new TwilioControlError(400, `${phoneNumber} belongs to another account`);
      number.messagingServiceSid = service.sid;
    }
    this.services.set(service.sid, service);
    return service;
  }

  /** Opt-outs are kept per Messaging Service when the number is in one (Twilio blocks the whole service), else per number. */
  optOutKey(sender: string, recipient: string): string {
    return `${this.numbers.get(sender)?.messagingServiceSid ?? sender}|${recipient}`;
  }

  optedOut(sender: string, recipient: string): boolean {
    return this.optOuts.has(this.optOutKey(sender, recipient));
  }

  setOptOut(sender: string, recipient: string, on: boolean): void {
    const key = this.optOutKey(sender, recipient);
    if (on) this.optOuts.add(key);
    else this.optOuts.delete(key);
  }

  addFault(fault: TwilioFault): void {
    if (!(fault.status >= 400 && fault.status <= 599)) throw new TwilioControlError(400, 'status must be 4xx or 5xx');
    this.faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  pendingFaults(): TwilioFault[] {
    return this.faults.map(({ remaining, ...fault }) => ({ ...fault, count: remaining }));
  }

  /** Throws the first queued fault, counting it down. */
  applyFault(): void {
    const fault = this.faults[0];
    if (!fault) return;
    if (--fault.remaining <= 0) this.faults.shift();
    const code = fault.code ?? (fault.status === 429 ? 20429 : fault.status === 503 ? 20503 : fault.status >= 500 ? 20500 : 21000 + fault.status);
    const message = fault.status === 429 ? 'Too Many Requests' : fault.status === 503 ? 'Service Unavailable' : fault.status >= 500 ? 'Internal Server Error' : 'Scripted fault';
    throw new TwilioApiError(fault.status, code, message, fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) });
  }

  save(message: TwilioMessageRecord): void {
    this.messages.set(message.sid, message);
    this.events.emit('message', message);
  }

  setStatus(message: TwilioMessageRecord, status: TwilioMessageRecord['status'], errorCode: number | null = null): void {
    message.status = status;
    message.statusHistory.push(status);
    message.dateUpdated = this.clock.now();
    if (status === 'sent' && message.dateSent === null) message.dateSent = message.dateUpdated;
    if (errorCode !== null) message.errorCode = errorCode;
    this.events.emit('message', message);
  }

  /** Messages between a phone and anyone, in creation order. */
  messagesOf(phone: string, direction?: 'to' | 'from'): TwilioMessageRecord[] {
    return [...this.messages.values()].filter((message) => (direction !== 'from' && message.to === phone) || (direction !== 'to' && message.from === phone));
  }
}

function checkUrl(value: string, name: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TwilioControlError(400, `${name} must be an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TwilioControlError(400, `${name} must be http(s)`);
}
