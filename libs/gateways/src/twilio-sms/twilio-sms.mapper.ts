import { ChannelAttachment, GatewayError, OutboundActivity, UnreachableReason, UserActivity } from '@app/gateway-sdk';
import { MAX_BODY_CHARS, TwilioSmsSettings } from './twilio-sms.settings';

/** An inbound webhook's form: parameters in order (a name may repeat), and the first value by name. */
export interface TwilioForm {
  params: Array<[string, string]>;
  get(name: string): string | undefined;
}

export function parseForm(rawBody: Buffer): TwilioForm {
  const params = [...new URLSearchParams(rawBody.toString('utf8'))];
  const first = new Map<string, string>();
  for (const [name, value] of params) if (!first.has(name)) first.set(name, value);
  return { params, get: (name) => first.get(name) };
}

/** Status callbacks carry MessageStatus; inbound messages do not. */
export function isStatusCallback(form: TwilioForm): boolean {
  return form.get('MessageStatus') !== undefined;
}

/**
 * The platform conversation of a webhook: `${user}:${business}`, the business side being the Messaging Service when
 * the gateway sends through one (replies may come from any of its numbers), else the number.
 */
export function conversationOf(form: TwilioForm, settings: TwilioSmsSettings): string {
  const callback = isStatusCallback(form);
  const user = (callback ? form.get('To') : form.get('From')) ?? '';
  const number = (callback ? form.get('From') : form.get('To')) ?? '';
  const service = form.get('MessagingServiceSid');
  return `${user}:${settings.senderIsService && service === settings.sender ? service : number}`;
}

// Twilio's default opt-out keywords (https://help.twilio.com/articles/223134027), mirrored for when a webhook does not
// carry OptOutType.
const KEYWORDS: Record<string, 'STOP' | 'START' | 'HELP'> = Object.fromEntries([
  ...['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'].map((word) => [word, 'STOP'] as const),
  ...['START', 'YES', 'UNSTOP'].map((word) => [word, 'START'] as const),
  ...['HELP', 'INFO'].map((word) => [word, 'HELP'] as const),
]);

export function keywordOf(form: TwilioForm): 'STOP' | 'START' | 'HELP' | undefined {
  const type = form.get('OptOutType')?.toUpperCase();
  if (type === 'STOP' || type === 'START' || type === 'HELP') return type;
  const word = (form.get('Body') ?? '').trim().replace(/^[\p{P}\s]+|[\p{P}\s]+$/gu, '').toUpperCase();
  return KEYWORDS[word];
}

/** An inbound SMS/MMS: the message, and before it the subscription change a STOP or START made. */
export function inboundActivities(form: TwilioForm, settings: TwilioSmsSettings, receivedAt: Date): UserActivity[] {
  const from = form.get('From') ?? '';
  const to = form.get('To') ?? '';
  const sid = form.get('MessageSid') ?? form.get('SmsMessageSid') ?? form.get('SmsSid') ?? '';
  const base = { platformConversationId: conversationOf(form, settings), user: { id: from }, occurredAt: receivedAt };
  const reference = { from: settings.senderIsService && form.get('MessagingServiceSid') === settings.sender ? settings.sender : to, to: from };
  const attachments: ChannelAttachment[] = [];
  const count = Math.min(Number(form.get('NumMedia') ?? 0) || 0, 10);
  for (let index = 0; index < count; index++) {
    const url = form.get(`MediaUrl${index}`);
    if (url) attachments.push({ url, contentType: form.get(`MediaContentType${index}`) ?? 'application/octet-stream' });
  }
  const activities: UserActivity[] = [];
  const keyword = keywordOf(form);
  if (keyword === 'STOP') activities.push({ ...base, type: 'reachability', platformActivityId: `${sid}:reachability`, reachability: { reachable: false, reason: 'opted_out' } });
  if (keyword === 'START') activities.push({ ...base, type: 'reachability', platformActivityId: `${sid}:reachability`, reachability: { reachable: true } });
  activities.push({ ...base, type: 'message', platformActivityId: sid, text: form.get('Body') ?? '', ...(attachments.length ? { attachments } : {}), reference });
  return activities;
}

/** What a failed message's ErrorCode says about the recipient (https://www.twilio.com/docs/api/errors). */
export function reasonOfErrorCode(code: number | undefined): { reason: UnreachableReason; detail: string } {
  switch (code) {
    case 21610:
      return { reason: 'opted_out', detail: '21610: the recipient replied STOP' };
    case 30004:
      return { reason: 'blocked', detail: '30004: message blocked' };
    case 30003:
      return { reason: 'unknown', detail: '30003: unreachable handset (temporary)' };
    case 30008:
      return { reason: 'unknown', detail: '30008: unknown carrier error (temporary)' };
    case 30005:
      return { reason: 'invalid_recipient', detail: '30005: unknown or inactive number' };
    case 30006:
      return { reason: 'invalid_recipient', detail: '30006: landline or unreachable carrier' };
    case 21211:
      return { reason: 'invalid_recipient', detail: "21211: invalid 'To' number" };
    case 21614:
      return { reason: 'invalid_recipient', detail: "21614: 'To' is not a mobile number" };
    default:
      return { reason: 'unknown', detail: code === undefined ? 'no error code' : `error code ${code}` };
  }
}

/**
 * A status callback: delivered (and WhatsApp's read) become receipts; undelivered and failed a failed receipt with the
 * reason, and for 21610 also the opt-out; the intermediate statuses nothing.
 */
export function statusActivities(form: TwilioForm, settings: TwilioSmsSettings, receivedAt: Date): UserActivity[] {
  const sid = form.get('MessageSid') ?? form.get('SmsSid') ?? '';
  const status = form.get('MessageStatus');
  const base = { platformConversationId: conversationOf(form, settings), user: { id: form.get('To') ?? '' }, occurredAt: receivedAt };
  const id = `${sid}:${status}`;
  if (status === 'delivered' || status === 'read') return [{ ...base, type: 'receipt', platformActivityId: id, receipt: { platformMessageId: sid, status } }];
  if (status !== 'undelivered' && status !== 'failed') return [];
  const code = Number(form.get('ErrorCode'));
  const { reason, detail } = reasonOfErrorCode(Number.isInteger(code) && code > 0 ? code : undefined);
  const activities: UserActivity[] = [{ ...base, type: 'receipt', platformActivityId: id, receipt: { platformMessageId: sid, status: 'failed', reason, detail: `${status}: ${detail}` } }];
  if (reason === 'opted_out') activities.push({ ...base, type: 'reachability', platformActivityId: `${id}:reachability`, reachability: { reachable: false, reason } });
  return activities;
}

/** The text an SMS carries for an outbound activity: an agent's message prefixed as the format says. */
export function outboundText(activity: OutboundActivity, settings: TwilioSmsSettings): string {
  const text = activity.text ?? '';
  if (activity.author !== 'agent' || !activity.authorName || !settings.agentMessageFormat || !text) return text;
  return settings.agentMessageFormat.replace('{name}', () => activity.authorName!).replace('{text}', () => text);
}

/** Media URLs of the attachments (MMS); an attachment without a URL cannot go by SMS. */
export function mediaUrls(activity: OutboundActivity): string[] {
  const urls: string[] = [];
  for (const attachment of activity.attachments ?? []) {
    if (!attachment.url) throw new GatewayError('invalid_request', `An SMS attachment needs a URL Twilio can fetch (${attachment.contentType} has none)`);
    urls.push(attachment.url);
  }
  if (urls.length > 10) throw new GatewayError('invalid_request', 'An MMS carries at most 10 media');
  return urls;
}

// GSM 03.38: the default alphabet, and the extension characters that take two septets.
const GSM = new Set('@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà');
const GSM_EXTENSION = new Set('^{}\\[~]|€\f');

/** Segments a body takes: 160 GSM-7 septets or 70 UCS-2 units in one, 153 / 67 per segment beyond. */
export function segmentsOf(body: string): number {
  const chars = [...body];
  if (chars.every((char) => GSM.has(char) || GSM_EXTENSION.has(char))) {
    const septets = chars.reduce((sum, char) => sum + (GSM_EXTENSION.has(char) ? 2 : 1), 0);
    return septets <= 160 ? 1 : Math.ceil(septets / 153);
  }
  return body.length <= 70 ? 1 : Math.ceil(body.length / 67);
}

/** Splits a text into parts of at most `maxSegments` segments and 1600 characters, between words where it can. */
export function splitText(text: string, maxSegments: number): string[] {
  const fits = (part: string) => part.length <= MAX_BODY_CHARS && segmentsOf(part) <= maxSegments;
  if (fits(text)) return [text];
  const parts: string[] = [];
  let rest = text;
  while (rest !== '' && !fits(rest)) {
    let low = 1;
    let high = Math.min(rest.length, MAX_BODY_CHARS);
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (fits(rest.slice(0, middle))) low = middle;
      else high = middle - 1;
    }
    const space = rest.lastIndexOf(' ', low);
    const cut = space > low / 2 ? space : low;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest !== '') parts.push(rest);
  return parts;
}
