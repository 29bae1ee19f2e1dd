import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ChannelAttachment, ChannelTemplate, GatewayError, GatewayLogger, OutboundActivity, OutboundAttachment, UserActivity } from '@app/gateway-sdk';
import { unreachableReasonOf } from './whatsapp-cloud-error.mapper';

const MAX_BUTTONS = 3;
const MAX_BUTTON_TITLE = 20;
const MAX_ROWS = 10;
const MAX_ROW_TITLE = 24;
const MAX_REPLY_ID = 256;
const MAX_TEXT = 4096;
const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;

/** One `changes[].value` of a webhook, as far as the gateway reads it. */
export interface WebhookValue {
  metadata?: { phone_number_id?: string; display_phone_number?: string };
  contacts?: Array<{ wa_id?: string; user_id?: string; profile?: { name?: string } }>;
  messages?: Array<Record<string, any>>;
  statuses?: Array<Record<string, any>>;
}

/** Checks `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256 of the raw body with the app secret, in constant time. */
export function signatureValid(header: string | undefined, rawBody: Buffer, appSecret: string): boolean {
  const given = /^sha256=([0-9a-fA-F]{64})$/.exec(header?.trim() ?? '')?.[1];
  if (!given) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(given.toLowerCase(), 'hex'), expected);
}

/** The `value`s of every `messages` change of a delivery (one POST can batch several entries and changes). */
export function parseDelivery(rawBody: Buffer): WebhookValue[] {
  let body: any;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new GatewayError('invalid_request', 'the WhatsApp delivery is not JSON');
  }
  if (!body || typeof body !== 'object' || !Array.isArray(body.entry)) throw new GatewayError('invalid_request', 'the WhatsApp delivery has no entry[]');
  const values: WebhookValue[] = [];
  for (const entry of body.entry) {
    for (const change of Array.isArray(entry?.changes) ? entry.changes : []) {
      if (change?.field === 'messages' && change.value && typeof change.value === 'object') values.push(change.value as WebhookValue);
    }
  }
  return values;
}

/** A stable id for a delivery that names no message: a digest of the raw body. */
export function bodyDigest(rawBody: Buffer): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex').slice(0, 32)}`;
}

function occurred(timestamp: unknown, fallback: Date): Date {
  const seconds = Number(timestamp);
  return Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : fallback;
}

/**
 * The user activities of a delivery's values for this phone number: messages (text, media, button and interactive
 * replies, locations) and statuses (delivered, read, failed as receipts). Reactions, `sent` statuses, system and
 * unsupported messages map to none. Values for another phone number of the same Meta app are dropped.
 */
export function toUserActivities(values: WebhookValue[], options: { phoneNumberId: string; graphUrl: string; receivedAt: Date; logger: GatewayLogger }): UserActivity[] {
  const activities: UserActivity[] = [];
  for (const value of values) {
    const phoneNumberId = value.metadata?.phone_number_id;
    if (phoneNumberId !== options.phoneNumberId) {
      options.logger.warn('WhatsApp webhook for another phone number; dropped', { phoneNumberId: phoneNumberId ?? null });
      continue;
    }
    for (const message of value.messages ?? []) {
      const activity = messageActivity(message, value, options);
      if (activity) activities.push(activity);
      else options.logger.debug('WhatsApp message type not relayed', { type: message?.type, id: message?.id });
    }
    for (const status of value.statuses ?? []) {
      const activity = statusActivity(status, options.receivedAt);
      if (activity) activities.push(activity);
    }
  }
  return activities;
}

function messageActivity(message: Record<string, any>, value: WebhookValue, options: { graphUrl: string; receivedAt: Date }): UserActivity | undefined {
  const from = typeof message?.from === 'string' && message.from ? message.from : undefined;
  const id = typeof message?.id === 'string' ? message.id : undefined;
  if (!from || !id) return undefined;
  const contact = value.contacts?.find((candidate) => candidate.wa_id === from) ?? value.contacts?.[0];
  const name = contact?.profile?.name;
  const base = {
    type: 'message' as const,
    platformActivityId: id,
    platformConversationId: from,
    user: { id: from, ...(name ? { name } : {}) },
    occurredAt: occurred(message.timestamp, options.receivedAt),
    // What a later send needs: the latest message, to mark it read and show typing against it.
    reference: { waId: from, lastMessageId: id },
  };
  const type = message.type;
  if (type === 'text') return { ...base, text: String(message.text?.body ?? '') };
  if ((MEDIA_TYPES as readonly string[]).includes(type)) {
    const media = message[type] ?? {};
    if (typeof media.id !== 'string') return undefined;
    // The media URL is Graph's media resource: the service fetches it with the access token, then the URL it names.
    const attachment: ChannelAttachment = { contentType: String(media.mime_type ?? 'application/octet-stream'), url: `${options.graphUrl}/${media.id}` };
    if (typeof media.filename === 'string') attachment.name = media.filename;
    return { ...base, text: typeof media.caption === 'string' ? media.caption : '', attachments: [attachment] };
  }
  if (type === 'button') return { ...base, text: String(message.button?.text ?? message.button?.payload ?? ''), value: message.button?.payload };
  if (type === 'interactive') {
    const reply = message.interactive?.button_reply ?? message.interactive?.list_reply;
    if (!reply) return undefined;
    return { ...base, text: String(reply.title ?? reply.id ?? ''), value: reply.id };
  }
  if (type === 'location') {
    const { latitude, longitude, name: place, address } = message.location ?? {};
    const label = [place, address].filter((part) => typeof part === 'string' && part).join(', ');
    return { ...base, text: `${label ? `${label} ` : ''}(${latitude}, ${longitude})`, value: { latitude, longitude, ...(place ? { name: place } : {}), ...(address ? { address } : {}) } };
  }
  return undefined;
}

function statusActivity(status: Record<string, any>, receivedAt: Date): UserActivity | undefined {
  const kind = status?.status;
  if ((kind !== 'delivered' && kind !== 'read' && kind !== 'failed') || typeof status.id !== 'string' || typeof status.recipient_id !== 'string') return undefined;
  const receipt: NonNullable<UserActivity['receipt']> = { platformMessageId: status.id, status: kind };
  if (kind === 'failed') {
    const error = Array.isArray(status.errors) ? status.errors[0] : undefined;
    const code = typeof error?.code === 'number' ? error.code : undefined;
    const known = unreachableReasonOf(code);
    receipt.reason = known?.reason ?? 'unknown';
    const details = error?.error_data?.details ?? error?.message ?? error?.title;
    receipt.detail = [code !== undefined ? `#${code}` : undefined, known?.detail ?? details].filter(Boolean).join(' ');
  }
  return {
    type: 'receipt',
    platformActivityId: `${status.id}:${kind}`,
    platformConversationId: status.recipient_id,
    user: { id: status.recipient_id },
    occurredAt: occurred(status.timestamp, receivedAt),
    receipt,
  };
}

/** The template as the service sees it: body parameters `{{n}}` and quick-reply buttons counted. */
export function toChannelTemplate(template: Record<string, any>): ChannelTemplate | undefined {
  if (typeof template?.name !== 'string' || typeof template.language !== 'string') return undefined;
  const components: any[] = Array.isArray(template.components) ? template.components : [];
  const body = components.find((component) => String(component?.type).toUpperCase() === 'BODY')?.text;
  const parameters = new Set([...String(body ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1]));
  const buttons = components
    .filter((component) => String(component?.type).toUpperCase() === 'BUTTONS')
    .flatMap((component) => (Array.isArray(component.buttons) ? component.buttons : []))
    .filter((button: any) => String(button?.type).toUpperCase() === 'QUICK_REPLY');
  const category = String(template.category ?? '').toLowerCase();
  const status = String(template.status ?? '').toLowerCase();
  return {
    name: template.name,
    language: template.language,
    category: category === 'marketing' || category === 'authentication' ? category : 'utility',
    status: (['approved', 'pending', 'rejected', 'paused', 'disabled'] as const).find((known) => known === status) ?? 'pending',
    parameterCount: parameters.size,
    quickReplyButtons: buttons.length,
  };
}

/** The Graph message bodies (without `messaging_product`, `to`) one outbound activity is, in order. */
export function toGraphMessages(activity: OutboundActivity, options: { agentMessageFormat: string; logger: GatewayLogger }): Array<Record<string, unknown>> {
  if (activity.template) return [templateMessage(activity.template)];
  const text = messageText(activity, options.agentMessageFormat);
  const attachments = (activity.attachments ?? []).filter((attachment) => {
    if (attachment.url) return true;
    options.logger.warn('WhatsApp cannot show a card or an attachment without a URL; left out', { contentType: attachment.contentType });
    return false;
  });
  const replies = activity.quickReplies ?? [];
  const messages: Array<Record<string, unknown>> = [];
  // One media with text and no buttons: the text is its caption (audio and stickers take none).
  const captioned = attachments.length === 1 && text && !replies.length && !/^audio\//.test(attachments[0].contentType);
  if (replies.length) messages.push(interactiveMessage(text || '…', replies, options.logger));
  else if (text && !captioned) messages.push({ type: 'text', text: { body: text.slice(0, MAX_TEXT), preview_url: false } });
  attachments.forEach((attachment, index) => messages.push(mediaMessage(attachment, captioned && index === 0 ? text : undefined)));
  if (!messages.length) throw new GatewayError('invalid_request', 'the message has nothing WhatsApp can show (no text, link or template)');
  return messages;
}

function messageText(activity: OutboundActivity, format: string): string {
  const text = activity.text ?? '';
  if (activity.author !== 'agent' || !activity.authorName || !format || !text) return text;
  return format.replace(/\{name\}|\{text\}/g, (field) => (field === '{name}' ? activity.authorName! : text));
}

function templateMessage(template: NonNullable<OutboundActivity['template']>): Record<string, unknown> {
  const components: Array<Record<string, unknown>> = [];
  if (template.parameters?.length) components.push({ type: 'body', parameters: template.parameters.map((text) => ({ type: 'text', text })) });
  (template.buttonPayloads ?? []).forEach((payload, index) =>
    components.push({ type: 'button', sub_type: 'quick_reply', index: String(index), parameters: [{ type: 'payload', payload }] }),
  );
  return { type: 'template', template: { name: template.name, language: { code: template.language }, ...(components.length ? { components } : {}) } };
}

/** Up to 3 short replies are reply buttons; more, or longer titles, a list (at most 10 rows). */
function interactiveMessage(body: string, replies: NonNullable<OutboundActivity['quickReplies']>, logger: GatewayLogger): Record<string, unknown> {
  const id = (reply: { title: string; value?: string }) => (reply.value ?? reply.title).slice(0, MAX_REPLY_ID);
  if (replies.length <= MAX_BUTTONS && replies.every((reply) => reply.title.length <= MAX_BUTTON_TITLE)) {
    return {
      type: 'interactive',
      interactive: { type: 'button', body: { text: body.slice(0, 1024) }, action: { buttons: replies.map((reply) => ({ type: 'reply', reply: { id: id(reply), title: reply.title } })) } },
    };
  }
  if (replies.length > MAX_ROWS) logger.warn('WhatsApp lists hold 10 rows; the other quick replies are left out', { count: replies.length });
  const rows = replies.slice(0, MAX_ROWS).map((reply) => ({ id: id(reply), title: reply.title.slice(0, MAX_ROW_TITLE) }));
  return { type: 'interactive', interactive: { type: 'list', body: { text: body.slice(0, 4096) }, action: { button: 'Options', sections: [{ title: 'Options', rows }] } } };
}

function mediaMessage(attachment: OutboundAttachment, caption: string | undefined): Record<string, unknown> {
  const type = attachment.contentType.startsWith('image/') ? 'image' : attachment.contentType.startsWith('video/') ? 'video' : attachment.contentType.startsWith('audio/') ? 'audio' : 'document';
  const object: Record<string, unknown> = { link: attachment.url };
  if (caption) object.caption = caption.slice(0, 1024);
  if (type === 'document' && attachment.name) object.filename = attachment.name;
  return { type, [type]: object };
}
