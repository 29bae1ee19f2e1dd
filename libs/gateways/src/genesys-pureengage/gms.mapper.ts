import { AgentInfo, AttachmentRef, EscalationRequest, GatewayLogger, HistoryEntry, OutboundMessage, PlatformEvent } from '@app/gateway-sdk';
import { cardToText } from './card-text.mapper';
import { GmsSettings } from './genesys-pureengage.settings';
import { GmsEnvelope, GmsFields, MAX_DOWNLOAD_BYTES } from './gms.types';

// ---- GMS transcript -> normalized events -------------------------------------------------------------------------

/** A FileUploaded from an agent: the gateway downloads it and turns it into an `attachment` event. */
export interface GmsAgentFile {
  key: string;
  index: number;
  occurredAt: Date;
  fileId: string;
  name: string;
  agent?: AgentInfo;
}

export type GmsMappedItem = { kind: 'event'; event: PlatformEvent } | { kind: 'file'; file: GmsAgentFile };

/** What one batch of transcript items says. */
export interface GmsMappedTranscript {
  /** Events (and files to fetch) in transcript order. */
  items: GmsMappedItem[];
  /** Highest index among the well-formed items, ours included (the cursor fallback when nextPosition is missing). */
  maxIndex?: number;
  /** Set when the customer's participant (this gateway) left without us disconnecting: GMS removed it. */
  clientRemoved?: { reason: string; at: Date };
  /** Set when Chat Server closed the chat for inactivity. */
  inactivityClosed?: { reason: string; at: Date };
  /** Time of the last item, for the `ended` event. */
  lastAt?: Date;
}

export interface GmsMapOptions {
  /** Customer Agent Info: name the agent on every agent event, not only on joined/left. */
  customerAgentInfo: boolean;
  logger: GatewayLogger;
}

/**
 * Chat Server's default `message-close` (Chat Server inactivity); the configured text may differ, then the end reads
 * as by the agent.
 */
const INACTIVITY_CLOSE_TEXT = 'Chat session closed due to inactivity of chat participants.';
const MAX_TEXT = 65_536;
const MAX_NICKNAME = 256;
const MAX_INDEX = 1_000_000_000;
const AGENT_TYPES = new Set(['Agent', 'Supervisor']);
/** Known event types that carry nothing for the bot platform (debug log, not a warning). */
const QUIET_TYPES = new Set(['NicknameUpdated', 'FileDeleted', 'ParticipantJoined', 'ParticipantLeft', 'TypingStarted', 'TypingStopped']);

/**
 * Maps `messages[]` of one answer. Items from the Client (our own echo) are skipped; a malformed, unknown or
 * oversized item is skipped with a warning naming its index and type, and never stops the batch.
 */
export function mapTranscript(messages: unknown, options: GmsMapOptions): GmsMappedTranscript {
  const result: GmsMappedTranscript = { items: [] };
  if (messages === undefined || messages === null) return result;
  if (!Array.isArray(messages)) {
    options.logger.warn('GMS messages is not an array; ignoring it', { kind: typeof messages });
    return result;
  }
  const seen = new Set<number>();
  for (const raw of messages) {
    const item = raw as Record<string, unknown> | null;
    const index = item && typeof item === 'object' ? item.index : undefined;
    const type = item && typeof item === 'object' ? item.type : undefined;
    const skip = (why: string) => options.logger.warn(`skipping GMS transcript item: ${why}`, { index: loggable(index), type: loggable(type) });
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      skip('not an object');
      continue;
    }
    const from = item.from as Record<string, unknown> | undefined;
    if (!from || typeof from !== 'object' || typeof from.type !== 'string') {
      skip('no from.type');
      continue;
    }
    if (from.type === 'Client') {
      // Our own events; the index still counts for the cursor, and our removal ends the chat.
      if (isIndex(index)) result.maxIndex = Math.max(result.maxIndex ?? 0, index);
      if (type === 'ParticipantLeft') result.clientRemoved = { reason: 'the customer was removed from the chat by GMS', at: timeOf(item.utcTime) };
      continue;
    }
    if (typeof type !== 'string') {
      skip('no type');
      continue;
    }
    if (!isIndex(index)) {
      skip('missing or invalid index');
      continue;
    }
    result.maxIndex = Math.max(result.maxIndex ?? 0, index);
    if (seen.has(index)) {
      skip('duplicate index in one answer');
      continue;
    }
    seen.add(index);
    if (item.text !== undefined && (typeof item.text !== 'string' || item.text.length > MAX_TEXT)) {
      skip(typeof item.text === 'string' ? `text longer than ${MAX_TEXT} characters` : 'text is not a string');
      continue;
    }
    const at = timeOf(item.utcTime);
    result.lastAt = at;
    const mapped = mapItem({ index, type, at, text: item.text as string | undefined, from, userData: item.userData }, options, result);
    if (typeof mapped === 'string') {
      if (mapped.startsWith('quiet:')) options.logger.debug(`ignoring GMS ${type} from ${from.type}`, { index });
      else skip(mapped);
      continue;
    }
    result.items.push(mapped);
  }
  return result;
}

interface CheckedItem {
  index: number;
  type: string;
  at: Date;
  text?: string;
  from: Record<string, unknown>;
  userData: unknown;
}

/** One well-formed item to an event, a file to fetch, or the reason it is skipped (`quiet:` = expected, not a warning). */
function mapItem(item: CheckedItem, options: GmsMapOptions, result: GmsMappedTranscript): GmsMappedItem | string {
  const key = `idx:${item.index}`;
  const event = (type: PlatformEvent['type'], data: unknown): GmsMappedItem => ({ kind: 'event', event: { type, key, occurredAt: item.at, data } as PlatformEvent });
  const isAgent = AGENT_TYPES.has(item.from.type as string);
  const agent = isAgent ? agentOf(item.from) : undefined;
  if (isAgent && !agent) return 'agent without participantId or nickname';
  const named = options.customerAgentInfo ? agent : undefined;
  const text = item.text?.trim() ? item.text : undefined;

  switch (item.type) {
    case 'ParticipantJoined':
    case 'ParticipantLeft':
      if (item.from.type !== 'Agent') return 'quiet:';
      return event(item.type === 'ParticipantJoined' ? 'agent_joined' : 'agent_left', { agent });
    case 'Message':
      if (!text) return 'message without text';
      if (isAgent) return event('agent_message', { ...(named ? { agent: named } : {}), text });
      return event('notice', { text });
    case 'TypingStarted':
    case 'TypingStopped':
      if (!isAgent) return 'quiet:';
      return event(item.type === 'TypingStarted' ? 'agent_typing_started' : 'agent_typing_stopped', named ? { agent: named } : {});
    case 'PushUrl': {
      const url = httpUrl(text);
      if (!url) return 'PushUrl without an http(s) URL';
      return event('push_url', { ...(named ? { agent: named } : {}), url });
    }
    case 'FileUploaded': {
      if (!isAgent) return 'quiet:';
      const userData = isStringMap(item.userData) ? item.userData : {};
      const fileId = text ?? userData['file-id'];
      if (!fileId || fileId.length > 200) return 'FileUploaded without a file id';
      const name = (userData['file-name'] || fileId).slice(0, 255);
      const size = Number(userData['file-size']);
      if (Number.isFinite(size) && size > MAX_DOWNLOAD_BYTES) {
        return event('notice', { text: `The agent sent the file "${name}" (${size} bytes), which is too large to be relayed.` });
      }
      return { kind: 'file', file: { key, index: item.index, occurredAt: item.at, fileId, name, agent: named } };
    }
    case 'Notice':
    case 'CustomNotice':
    case 'IdleAlert':
    case 'IdleClose': {
      const noticeText = text ?? (item.type === 'IdleClose' ? INACTIVITY_CLOSE_TEXT : undefined);
      if (!noticeText) return `${item.type} without text`;
      if (item.type === 'IdleClose' || noticeText.trim() === INACTIVITY_CLOSE_TEXT) result.inactivityClosed = { reason: noticeText, at: item.at };
      return event('notice', { text: noticeText });
    }
    default:
      return QUIET_TYPES.has(item.type) ? 'quiet:' : 'unknown type';
  }
}

/** The one `ended` event of a chat GMS reports as over (`chatEnded: true`). */
export function endedEvent(transcript: GmsMappedTranscript, now = new Date()): PlatformEvent {
  const base = { type: 'ended' as const, key: 'ended' };
  if (transcript.clientRemoved) return { ...base, occurredAt: transcript.clientRemoved.at, data: { by: 'system', reason: transcript.clientRemoved.reason } };
  if (transcript.inactivityClosed) return { ...base, occurredAt: transcript.inactivityClosed.at, data: { by: 'timeout', reason: transcript.inactivityClosed.reason } };
  return { ...base, occurredAt: transcript.lastAt ?? now, data: { by: 'agent' } };
}

/** The `ended` event of a Refresh that GMS refused because the chat is over for us (flex-disconnect, unknown chat). */
export function refusedEndedEvent(envelope: GmsEnvelope, now = new Date()): PlatformEvent {
  const errors = Array.isArray(envelope.errors) ? envelope.errors : [];
  const detail = errors.map((error) => `${error?.code ?? '?'} ${String(error?.message ?? '').slice(0, 200)}`.trim()).join('; ');
  return { type: 'ended', key: 'ended', occurredAt: now, data: { by: 'system', reason: `GMS no longer serves the chat${detail ? `: ${detail}` : ''}` } };
}

/**
 * Where the next Refresh starts: GMS's nextPosition (GMS API Responses; Genesys' own Request Chat example lacks it),
 * else past the highest index seen, else where we were.
 */
export function nextCursor(envelope: GmsEnvelope, transcript: GmsMappedTranscript, position: number): number {
  const next = envelope.nextPosition;
  if (typeof next === 'number' && Number.isInteger(next) && next >= 1 && next <= MAX_INDEX + 1) return next;
  return transcript.maxIndex !== undefined ? Math.max(position, transcript.maxIndex + 1) : position;
}

function agentOf(from: Record<string, unknown>): AgentInfo | undefined {
  const id = from.participantId;
  const nickname = typeof from.nickname === 'string' ? from.nickname.slice(0, MAX_NICKNAME) : undefined;
  if ((typeof id !== 'number' && typeof id !== 'string') || id === '') return nickname ? { name: nickname } : undefined;
  return nickname ? { id: String(id), name: nickname } : { id: String(id) };
}

function httpUrl(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_INDEX;
}

function timeOf(value: unknown): Date {
  // GMS sends epoch milliseconds (GMS Chat API v2); a value in seconds would land in 1970, so it is read as seconds.
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return new Date();
  const date = new Date(value < 100_000_000_000 ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function loggable(value: unknown): string | number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.slice(0, 64);
  return value === undefined ? undefined : typeof value;
}

// ---- normalized -> GMS -------------------------------------------------------------------------------------------

/**
 * Genesys does not publish GMS's message length limit (a partner widget names error 204, "message too long"); history
 * is sent in pieces of at most this size.
 */
export const MAX_MESSAGE_CHARS = 4000;
/** History beyond this is cut from the oldest end: an agent reads the last part of a conversation first. */
const MAX_HISTORY_ENTRIES = 100;
const MAX_HISTORY_CHARS = 30_000;
const USER_DATA_KEY = /^[^[\]\s][^[\]]{0,99}$/;

/**
 * Request Chat fields (GMS Chat API v2): the names mapped as the PureEngage gateway's product documentation describes,
 * attributes as userData, then the gateway's own userData keys, which win over an attribute of the same name.
 */
export function requestChatFields(request: EscalationRequest, settings: GmsSettings, logger: GatewayLogger): GmsFields {
  const user = request.user ?? {};
  const fields: GmsFields = [];
  const firstName = user.firstName?.trim();
  const lastName = user.lastName?.trim();
  // GMS needs a nickname or both first and last name (GMS Chat API v2, Request Chat).
  const nickname = user.name?.trim() || [firstName, lastName].filter(Boolean).join(' ') || user.email?.trim() || 'Customer';
  fields.push(['nickname', nickname]);
  if (firstName) fields.push(['firstName', firstName]);
  if (lastName) fields.push(['lastName', lastName]);
  if (user.email?.trim()) fields.push(['emailAddress', user.email.trim()]);
  const subject = request.attributes?.subject;
  if (typeof subject === 'string' && subject.trim()) fields.push(['subject', subject.trim()]);

  const userData = new Map<string, string>();
  for (const [key, value] of Object.entries(request.attributes ?? {})) {
    if (!USER_DATA_KEY.test(key)) {
      logger.warn('escalation attribute not sent to GMS: its name cannot be a userData key', { attribute: key.slice(0, 64) });
      continue;
    }
    userData.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  const queue = request.queue?.trim() || settings.escalationQueue;
  if (queue) userData.set('queue', queue);
  userData.set('channel', settings.channel);
  userData.set('escalationId', request.escalationId);
  if (request.conversation?.externalId) userData.set('conversationId', request.conversation.externalId);
  if (request.conversation?.channel) userData.set('sourceChannel', request.conversation.channel);
  const language = request.locale || user.language;
  if (language && !userData.has('GCTI_LanguageCode')) userData.set('GCTI_LanguageCode', language);
  if (user.phone && !userData.has('phoneNumber')) userData.set('phoneNumber', user.phone);
  for (const [key, value] of userData) fields.push([`userData[${key}]`, value]);
  return fields;
}

const AUTHOR_LABEL: Record<HistoryEntry['author'], string> = { user: 'Customer', bot: 'Virtual agent', agent: 'Agent', system: 'System' };

/**
 * The bot conversation as the text of the first client Message(s) of the chat, so the agent reads it in the
 * transcript, in order, before the customer's first live line. Cut into pieces GMS accepts.
 */
export function historyMessages(history: HistoryEntry[] | undefined, presentContent: boolean): string[] {
  const entries = (history ?? []).filter((entry) => entry && (entry.text?.trim() || entry.attachments?.length || entry.cards?.length));
  if (entries.length === 0) return [];
  let lines: string[] = [];
  const kept = entries.slice(-MAX_HISTORY_ENTRIES);
  for (const entry of kept) {
    const time = clock(entry.time);
    const body = contentLines(entry.text, entry.cards, entry.attachments, presentContent, true);
    const [first, ...rest] = body.length > 0 ? body : [''];
    lines.push(`${time ? `[${time}] ` : ''}${AUTHOR_LABEL[entry.author] ?? 'Unknown'}: ${first}`, ...rest.map((line) => `    ${line}`));
  }
  let omitted = entries.length - kept.length;
  let total = lines.reduce((sum, line) => sum + line.length + 1, 0);
  while (total > MAX_HISTORY_CHARS && lines.length > 1) {
    total -= lines.shift()!.length + 1;
    omitted++;
  }
  if (omitted > 0) lines = [`(${omitted} earlier line(s) not shown)`, ...lines];
  const header = `Conversation with the virtual agent before the transfer (${kept.length} entries, times UTC):`;
  const chunks = chunk([header, ...lines], MAX_MESSAGE_CHARS - 20);
  return chunks.length === 1 ? chunks : chunks.map((text, i) => (i === 0 ? text : `(history ${i + 1}/${chunks.length})\n${text}`));
}

/**
 * The text part of a user message: its text, cards as text, and, when content is not presented or a file cannot be
 * uploaded, a line per attachment. Undefined when nothing is left to say.
 */
export function messageText(message: OutboundMessage, presentContent: boolean): string | undefined {
  const text = contentLines(message.text, message.cards, presentContent ? [] : message.attachments, presentContent, false).join('\n');
  return text.trim() ? text : undefined;
}

/** The line that stands for a file the agent does not receive as a file. */
export function attachmentLine(ref: AttachmentRef, reason?: string): string {
  const details = [ref.mimeType, typeof ref.size === 'number' ? `${ref.size} bytes` : undefined].filter(Boolean).join(', ');
  return `[Attachment: ${ref.name}${details ? ` (${details})` : ''}${reason ? `, not delivered: ${reason}` : ''}]${ref.url ? ` ${ref.url}` : ''}`;
}

function contentLines(text: string | undefined, cards: OutboundMessage['cards'], attachments: AttachmentRef[] | undefined, presentContent: boolean, history: boolean): string[] {
  const lines: string[] = [];
  if (text?.trim()) lines.push(...text.trim().split(/\r?\n/));
  for (const card of cards ?? []) lines.push(...(presentContent ? cardToText(card) : `[Card: ${card.contentType}]`).split('\n'));
  // In history every file is a line (links when the service has a URL); a live message uploads them instead.
  for (const ref of attachments ?? []) lines.push(attachmentLine(ref, history || presentContent ? undefined : 'content presentation is off'));
  return lines;
}

function clock(time: string | undefined): string | undefined {
  const date = time ? new Date(time) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString().slice(11, 19) : undefined;
}

/** Splits lines into texts of at most `max` characters, breaking inside a line only when it alone is longer. */
function chunk(lines: string[], max: number): string[] {
  const out: string[] = [];
  let current = '';
  for (let line of lines) {
    if (current && current.length + 1 + line.length > max) {
      out.push(current);
      current = '';
    }
    while (line.length > max) {
      out.push(line.slice(0, max));
      line = line.slice(max);
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) out.push(current);
  return out;
}
