import { AgentInfo, Card, EscalationRequest, HistoryEntry, OutboundMessage, PlatformEvent } from '@app/gateway-sdk';

type Json = Record<string, unknown>;

/** 8x8 limits from the OpenAPI document: `additionalProperties` "max 30" and `history.messages` "max 200". */
export const MAX_ADDITIONAL_PROPERTIES = 30;
export const MAX_HISTORY_MESSAGES = 200;
/** A webhook body past this is not an 8x8 event (the largest documented one is a MESSAGE of a few KiB). */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
/** Attachments and cards taken from one agent message; more is not a chat message. */
const MAX_PARTS_PER_MESSAGE = 20;

/** Card content types of 8x8's ContentType enum; anything else is refused by the API. */
export const CARD_CONTENT_TYPES: readonly string[] = [
  'application/vnd.microsoft.card.adaptive',
  'application/8x8.quick.replies',
  'Interactive',
  'Location',
  'Template',
  'Suggestions',
  'Buttons',
  'Carousel',
];

/** Language codes 8x8 routes on (the Language schema); the default is `en`. */
const LANGUAGES = ['en', 'ru', 'de', 'ja', 'es', 'fr', 'pt', 'it', 'pl', 'hr', 'nl', 'ar', 'da', 'ko', 'no', 'sv', 'vi', 'cy', 'th', 'zh-CN', 'zh-TW'];

/** An agent file announced by a MESSAGE, to be fetched from its pre-signed link. */
export interface AttachmentToFetch {
  key: string;
  occurredAt: Date;
  agent?: AgentInfo;
  url: string;
  fileName: string;
  /** 8x8's kind: image, video, audio or file. */
  kind?: string;
}

/** What one webhook body means: normalized events, agent files still to fetch, or why nothing came of it. */
export interface WebhookTranslation {
  events: PlatformEvent[];
  attachments: AttachmentToFetch[];
  ignored?: { level: 'debug' | 'warn'; reason: string };
}

/** A request body and what had to be cut to fit 8x8's limits. */
export interface MappedRequest {
  body: Json;
  warnings: string[];
}

// Outbound

/** EscalationRequest -> CreateTransactionRequest. */
export function toCreateConversation(request: EscalationRequest, target: { channelId: string; queueId: string }): MappedRequest {
  const warnings: string[] = [];
  const user: Json = {};
  const name = request.user.name?.trim() || [request.user.firstName, request.user.lastName].map((part) => part?.trim()).filter(Boolean).join(' ');
  if (name) user.name = name;
  user.userId = request.conversation.externalId;
  const email = request.user.email?.trim();
  // The document types email as `format: email`; a malformed one would fail the whole hand-over.
  if (email && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) user.email = email;
  else if (email) warnings.push('the user email is not an email address and was left out');
  if (request.user.phone?.trim()) user.phone = request.user.phone.trim();
  user.caseId = request.escalationId;
  const language = eightByEightLanguage(request.user.language ?? request.locale);
  if (language) user.language = language;
  const entries = Object.entries(request.attributes ?? {});
  if (entries.length > MAX_ADDITIONAL_PROPERTIES) {
    // The bot flow orders its attributes; the first 30 are the ones it set first (usually the important ones).
    warnings.push(`${entries.length} attributes; 8x8 takes ${MAX_ADDITIONAL_PROPERTIES}, so these were left out: ${entries.slice(MAX_ADDITIONAL_PROPERTIES).map(([key]) => key).join(', ')}`);
  }
  if (entries.length > 0) user.additionalProperties = entries.slice(0, MAX_ADDITIONAL_PROPERTIES).map(([key, value]) => ({ key, value: String(value) }));
  const body: Json = { channelId: target.channelId, user, assignment: { type: 'queue', id: target.queueId } };
  const messages = request.history.map((entry) => toHistoryMessage(entry, warnings)).filter((message): message is Json => message !== undefined);
  if (messages.length > MAX_HISTORY_MESSAGES) {
    warnings.push(`${messages.length} history messages; 8x8 takes ${MAX_HISTORY_MESSAGES}, so the oldest ${messages.length - MAX_HISTORY_MESSAGES} were left out`);
  }
  if (messages.length > 0) body.history = { messages: messages.slice(-MAX_HISTORY_MESSAGES) };
  return { body, warnings };
}

/**
 * One history entry as a send-message payload. The payload's author is `user` or `bot` only (ExternalAuthorType), so
 * agent and system lines go as `bot` with a label. Attachments cannot be uploaded before the conversation exists,
 * so they are named in the text instead.
 */
function toHistoryMessage(entry: HistoryEntry, warnings: string[]): Json | undefined {
  const label = entry.author === 'agent' ? '[Agent] ' : entry.author === 'system' ? '[System] ' : '';
  const lines: string[] = [];
  if (entry.text?.trim()) lines.push(`${label}${entry.text}`);
  for (const attachment of entry.attachments ?? []) {
    const link = attachment.url && /^https?:\/\//i.test(attachment.url) ? ` ${attachment.url}` : '';
    lines.push(`[Attachment: ${attachment.name}${link}]`);
  }
  const cards = toCards(entry.cards, warnings);
  if (lines.length === 0 && cards.length === 0) return undefined;
  const message: Json = { authorType: entry.author === 'user' ? 'user' : 'bot' };
  if (lines.length > 0) message.text = lines.join('\n');
  if (cards.length > 0) message.cards = cards;
  return message;
}

/** OutboundMessage (attachments already uploaded) -> SendConversationMessagePayload; undefined when nothing is left to send. */
export function toSendMessage(message: OutboundMessage, attachmentIds: string[]): MappedRequest | undefined {
  const warnings: string[] = [];
  const body: Json = { authorType: 'user' };
  if (message.text?.trim()) body.text = message.text;
  if (attachmentIds.length > 0) body.attachments = attachmentIds.map((id) => ({ id }));
  const cards = toCards(message.cards, warnings);
  if (cards.length > 0) body.cards = cards;
  return Object.keys(body).length > 1 ? { body, warnings } : undefined;
}

function toCards(cards: Card[] | undefined, warnings: string[]): Json[] {
  const mapped: Json[] = [];
  for (const card of cards ?? []) {
    let content = card.content;
    if (typeof content === 'string') {
      try {
        content = JSON.parse(content);
      } catch {
        // handled below
      }
    }
    if (!CARD_CONTENT_TYPES.includes(card.contentType) || !isObject(content)) {
      warnings.push(`a card of type ${card.contentType} is not one 8x8 accepts and was left out`);
      continue;
    }
    mapped.push({ contentType: card.contentType, content });
  }
  return mapped;
}

/** A BCP-47 tag as one of 8x8's language codes (`en-GB` -> `en`, `zh-Hant-TW` -> undefined); undefined when 8x8 has none. */
export function eightByEightLanguage(tag: string | undefined): string | undefined {
  if (!tag?.trim()) return undefined;
  const parts = tag.trim().replace(/_/g, '-').split('-');
  const exact = LANGUAGES.find((code) => code.toLowerCase() === `${parts[0]}-${parts[1] ?? ''}`.toLowerCase());
  if (exact) return exact;
  const primary = parts[0].toLowerCase();
  return primary !== 'zh' && LANGUAGES.includes(primary) ? primary : undefined;
}

// Inbound

/** The webhook body as a JSON object, or why it is not one. */
export function parseWebhookBody(raw: Buffer): { body: Json } | { problem: string } {
  if (raw.length > MAX_WEBHOOK_BYTES) return { problem: `body of ${raw.length} bytes is larger than ${MAX_WEBHOOK_BYTES}` };
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    return isObject(parsed) ? { body: parsed } : { problem: 'body is not a JSON object' };
  } catch {
    return { problem: 'body is not JSON' };
  }
}

/** Exactly the endpoint-verification hello (8x8 webhook events), sent before any key or conversation may exist. */
export function isBareWebhookVerify(body: Json): boolean {
  const keys = Object.keys(body).sort();
  return (
    keys.length === 2 &&
    keys[0] === 'eventType' &&
    keys[1] === 'notificationVersion' &&
    body.eventType === 'WEB_HOOK_VERIFY' &&
    typeof body.notificationVersion === 'string' &&
    body.notificationVersion.length <= 40
  );
}

/** The conversation a webhook concerns (Chat Gateway and legacy events alike); null for gateway-level ones. */
export function webhookConversationId(body: Json): string | null {
  if (body.eventType === 'WEB_HOOK_VERIFY') return null;
  const id = body.conversationId;
  return typeof id === 'string' && id !== '' && id.length <= 200 ? id : null;
}

/** The platform time of an event; legacy samples carry `timestamp: 0`, which means "unknown". */
export function webhookOccurredAt(body: Json, receivedAt: Date): Date {
  const timestamp = Number(body.timestamp);
  return Number.isFinite(timestamp) && timestamp > 0 && timestamp < 8.64e15 ? new Date(timestamp) : receivedAt;
}

/**
 * One webhook body -> normalized events (docs/gateways/8x8-chat-gateway.md has the table). Each webhook is handled
 * alone, so a TRANSFER is reported as `transferred` and the `agent_left` after it as a plain `agent_left`; the end of
 * the escalation is reported by the `ended` of CONVERSATION_UPDATE idle (or of the user leaving).
 */
export function translateWebhook(body: Json, eventId: string, receivedAt: Date): WebhookTranslation {
  const key = `eid:${eventId}`;
  const occurredAt = webhookOccurredAt(body, receivedAt);
  const event = <T extends PlatformEvent['type']>(type: T, data: Extract<PlatformEvent, { type: T }>['data']): WebhookTranslation =>
    ({ events: [{ type, key, occurredAt, data } as PlatformEvent], attachments: [] });
  const ignore = (reason: string, level: 'debug' | 'warn' = 'warn'): WebhookTranslation => ({ events: [], attachments: [], ignored: { level, reason } });
  const eventType = body.eventType;
  if (typeof eventType !== 'string') return ignore('no eventType');
  // Chat Gateway events nest their fields under `data`; the retired v2 ones are flat.
  const data = isObject(body.data) ? body.data : undefined;

  switch (eventType) {
    case 'WEB_HOOK_VERIFY':
      return ignore('endpoint verification', 'debug');
    case 'CONVERSATION_UPDATE': {
      if (!data) return ignore('CONVERSATION_UPDATE without data');
      if (data.state === 'idle') return event('ended', { by: 'agent', reason: '8x8 conversation went idle' });
      const assignment = isObject(data.assignment) ? data.assignment : undefined;
      if (assignment?.type === 'webhook') return event('ended', { by: 'agent', reason: 'agent closed; 8x8 handed the conversation back to the bot' });
      // created/active and queue or agent assignments: QUEUED and MEMBERS_CHANGED tell the same, with more detail.
      return ignore(`conversation ${String(data.state)} (${String(assignment?.type)})`, 'debug');
    }
    case 'QUEUED': {
      const source = data ?? body;
      return event('queued', { queueId: optionalText(source.queueId), queueName: optionalText(source.queueName) });
    }
    case 'MEMBERS_CHANGED': {
      if (!data || typeof data.memberType !== 'string' || typeof data.change !== 'string') return ignore('MEMBERS_CHANGED without memberType/change');
      const agent: AgentInfo = optionalText(data.id) ? { id: optionalText(data.id) } : {};
      if (data.memberType === 'agent' && data.change === 'joined') return event('agent_joined', { agent });
      if (data.memberType === 'agent' && data.change === 'left') return event('agent_left', { agent });
      if (data.memberType === 'user' && data.change === 'left') return event('ended', { by: 'user', reason: 'the user left the 8x8 conversation' });
      return ignore(`${data.memberType} ${data.change}`, 'debug');
    }
    case 'TRANSFER':
      return event('transferred', {});
    case 'MESSAGE':
      return data ? translateMessage(data, key, occurredAt, ignore) : ignore('MESSAGE without data');
    case 'ACTIVITY': {
      if (!data || typeof data.name !== 'string') return ignore('ACTIVITY without name');
      if (data.name !== 'typing') return ignore(`activity ${data.name}`, 'debug');
      const users = isObject(data.value) ? data.value.users : undefined;
      if (!Array.isArray(users)) return ignore('typing activity without a users list');
      // An empty list is how 8x8 says typing stopped.
      if (users.length === 0) return event('agent_typing_stopped', {});
      const typist = users.find((user) => isObject(user) && user.type === 'agent') as Json | undefined;
      if (!typist) return ignore('typing by someone other than an agent', 'debug');
      return event('agent_typing_started', { agent: optionalText(typist.id) ? { id: optionalText(typist.id) } : {} });
    }
    // The retired Chat API v2 catalogue, understood in case an account still sends it.
    case 'AGENT_JOINED':
      return event('agent_joined', { agent: legacyAgent(body) });
    case 'AGENT_LEFT':
      return event('agent_left', { agent: legacyAgent(body) });
    case 'TEXT': {
      if (body.messageType !== undefined && body.messageType !== 'AGENT') return ignore(`TEXT of ${String(body.messageType)}`, 'debug');
      const text = optionalText(body.message);
      if (!text) return ignore('TEXT without message');
      return event('agent_message', { agent: legacyAgent(body), text });
    }
    default:
      return ignore(`unknown event type ${eventType.slice(0, 60)}`);
  }
}

function translateMessage(
  data: Json,
  key: string,
  occurredAt: Date,
  ignore: (reason: string, level?: 'debug' | 'warn') => WebhookTranslation,
): WebhookTranslation {
  // Every message we post comes back with isEcho: true; relaying it would show users their own words as the agent's.
  if (data.isEcho === true) return ignore('echo of our own message', 'debug');
  const sender = isObject(data.sender) ? data.sender : {};
  const text = typeof data.text === 'string' ? data.text : '';
  if (sender.type === 'system') {
    return text.trim() ? { events: [{ type: 'notice', key, occurredAt, data: { text } }], attachments: [] } : ignore('empty system message', 'debug');
  }
  if (sender.type !== 'agent') return ignore(`message from ${String(sender.type)} that is not an echo`);
  const agent: AgentInfo = optionalText(sender.id) ? { id: optionalText(sender.id) } : {};
  const cards: Card[] = (Array.isArray(data.cards) ? data.cards : [])
    .filter((card): card is Json => isObject(card) && typeof card.contentType === 'string')
    .slice(0, MAX_PARTS_PER_MESSAGE)
    .map((card) => ({ contentType: card.contentType as string, content: card.content ?? {} }));
  const attachments: AttachmentToFetch[] = [];
  (Array.isArray(data.attachments) ? data.attachments : []).slice(0, MAX_PARTS_PER_MESSAGE).forEach((attachment, index) => {
    if (!isObject(attachment) || typeof attachment.preSignedUrl !== 'string') return;
    attachments.push({
      key: `${key}:att:${index}`,
      occurredAt,
      agent,
      url: attachment.preSignedUrl,
      fileName: optionalText(attachment.fileName) ?? `attachment-${index + 1}`,
      kind: optionalText(attachment.type),
    });
  });
  const events: PlatformEvent[] = [];
  if (text.trim() || cards.length > 0) {
    events.push({ type: 'agent_message', key, occurredAt, data: { agent, ...(text.trim() ? { text } : {}), ...(cards.length ? { cards } : {}) } });
  }
  if (events.length === 0 && attachments.length === 0) return ignore('agent message without text, cards or attachments');
  return { events, attachments };
}

/**
 * The end a legacy account never announces. The retired Chat API v2 has no CONVERSATION_UPDATE idle, so there the
 * agent closing is an AGENT_LEFT alone, while an agent transferring is TRANSFER then AGENT_LEFT. `transferPending`
 * (kept in the escalation's session between webhooks) remembers a TRANSFER until the next agent joins; an
 * AGENT_LEFT while none is pending becomes `agent_left` followed by `ended {by: 'agent'}`. Chat Gateway v1 events
 * only move the flag: their end is the idle update.
 */
export function followTransfers(body: Json, events: PlatformEvent[], eventId: string, transferPending: boolean): { events: PlatformEvent[]; transferPending: boolean } {
  if (events.some((event) => event.type === 'transferred')) return { events, transferPending: true };
  if (events.some((event) => event.type === 'agent_joined')) return { events, transferPending: false };
  const left = events.find((event) => event.type === 'agent_left');
  if (body.eventType !== 'AGENT_LEFT' || !left || transferPending) return { events, transferPending };
  const ended: PlatformEvent = {
    type: 'ended',
    key: `eid:${eventId}:end`,
    occurredAt: left.occurredAt,
    data: { by: 'agent', reason: 'the agent left (8x8 legacy events announce no idle conversation)' },
  };
  return { events: [...events, ended], transferPending };
}

/** The `attachment` event for a fetched agent file. */
export function toAttachmentEvent(item: AttachmentToFetch, content: Buffer, mimeType: string | undefined): PlatformEvent {
  const type = mimeType && mimeType !== 'application/octet-stream' ? mimeType : guessMimeType(item.fileName);
  return {
    type: 'attachment',
    key: item.key,
    occurredAt: item.occurredAt,
    data: { agent: item.agent, attachment: { name: item.fileName, mimeType: type, size: content.length, content } },
  };
}

const EXTENSIONS: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

function guessMimeType(fileName: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  return (extension && EXTENSIONS[extension]) || 'application/octet-stream';
}

function legacyAgent(body: Json): AgentInfo {
  const agent: AgentInfo = {};
  if (optionalText(body.agentId)) agent.id = optionalText(body.agentId);
  if (optionalText(body.agentName)) agent.name = optionalText(body.agentName);
  return agent;
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.slice(0, 10_000) : undefined;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
