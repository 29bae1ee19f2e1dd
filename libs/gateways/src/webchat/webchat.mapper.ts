import type { ChannelAttachment, OutboundActivity, UserActivity } from '@app/gateway-sdk';

/** The parts of a Direct Line 3.0 activity this service reads or writes (the Bot Framework Activity schema). */
export interface DirectLineActivity {
  type: string;
  id?: string;
  timestamp?: string;
  channelId?: string;
  conversation?: { id: string };
  from?: { id: string; name?: string; role?: string };
  locale?: string;
  text?: string;
  textFormat?: string;
  name?: string;
  value?: unknown;
  attachments?: DirectLineAttachment[];
  suggestedActions?: { actions: DirectLineCardAction[]; to?: string[] };
  channelData?: Record<string, unknown>;
  replyToId?: string;
  [other: string]: unknown;
}

export interface DirectLineAttachment {
  contentType: string;
  contentUrl?: string;
  content?: unknown;
  name?: string;
  thumbnailUrl?: string;
}

export interface DirectLineCardAction {
  type: 'imBack' | 'messageBack' | 'postBack';
  title: string;
  value?: unknown;
  text?: string;
  displayText?: string;
}

/** Who the bot is on this gateway's activities (`from`). */
export interface BotIdentity {
  id: string;
  name: string;
}

/** The `from.id` of an agent's activities: Web Chat only needs the role to draw them on the bot's side. */
export const AGENT_FROM_ID = 'agent';
/** Web Chat's convention for "the widget is open": the bot may greet first (a `webchat/join` event activity). */
export const JOIN_EVENT = 'webchat/join';

/**
 * A client's activity (already stamped by the server with its id, conversation and timestamp) as the normalized
 * user activity the bot receives; null for what the bot is not told (custom events, unknown types). `fileIdOf` turns
 * an attachment URL that points at a file uploaded to this service into that file's id.
 */
export function toUserActivity(activity: DirectLineActivity, fileIdOf: (url: string) => string | undefined = () => undefined): UserActivity | null {
  if (!activity.id || !activity.conversation?.id || !activity.from?.id) throw new Error('activity not stamped by the server');
  const base = {
    platformActivityId: activity.id,
    platformConversationId: activity.conversation.id,
    user: { id: activity.from.id, ...(activity.from.name ? { name: activity.from.name } : {}), ...(activity.locale ? { locale: activity.locale } : {}) },
    occurredAt: activity.timestamp ? new Date(activity.timestamp) : new Date(),
  };
  switch (activity.type) {
    case 'message': {
      const attachments = (activity.attachments ?? []).map((a) => toChannelAttachment(a, fileIdOf));
      return {
        ...base,
        type: 'message',
        ...(typeof activity.text === 'string' && activity.text !== '' ? { text: activity.text } : {}),
        ...(attachments.length ? { attachments } : {}),
        ...(activity.value !== undefined ? { value: activity.value } : {}),
      };
    }
    case 'typing':
      return { ...base, type: 'typing' };
    case 'endOfConversation':
      return { ...base, type: 'user_left' };
    case 'event':
      return activity.name === JOIN_EVENT ? { ...base, type: 'conversation_started', ...(activity.value !== undefined ? { value: activity.value } : {}) } : null;
    default:
      return null;
  }
}

function toChannelAttachment(a: DirectLineAttachment, fileIdOf: (url: string) => string | undefined): ChannelAttachment {
  const fileId = a.contentUrl ? fileIdOf(a.contentUrl) : undefined;
  return {
    contentType: a.contentType,
    ...(a.name ? { name: a.name } : {}),
    ...(a.contentUrl ? { url: a.contentUrl } : {}),
    ...(fileId ? { fileId } : {}),
    ...(a.content !== undefined ? { content: a.content } : {}),
  };
}

/**
 * What the service sends, as a Direct Line activity before the server stamps it (id, conversation, timestamp). An
 * agent writes on the bot's side (role `bot`) under the agent's name, so Web Chat shows who wrote.
 */
export function toDirectLineActivity(activity: OutboundActivity, bot: BotIdentity): DirectLineActivity {
  const from = activity.author === 'agent' ? { id: AGENT_FROM_ID, name: activity.authorName ?? 'Agent', role: 'bot' } : { id: bot.id, name: bot.name, role: 'bot' };
  if (activity.type === 'typing') return { type: 'typing', from };
  const out: DirectLineActivity = { type: 'message', from };
  if (activity.text !== undefined) {
    out.text = activity.text;
    out.textFormat = 'plain';
  }
  if (activity.attachments?.length) {
    out.attachments = activity.attachments.map((a) => ({
      contentType: a.contentType,
      ...(a.url ? { contentUrl: a.url } : {}),
      ...(a.content !== undefined ? { content: a.content } : {}),
      ...(a.name ? { name: a.name } : {}),
    }));
  }
  if (activity.quickReplies?.length) {
    // imBack sends the title as the user's text; a distinct value needs messageBack, which shows the title and
    // carries the value beside it.
    out.suggestedActions = {
      actions: activity.quickReplies.map((q) =>
        q.value === undefined || q.value === q.title
          ? { type: 'imBack', title: q.title, value: q.title }
          : { type: 'messageBack', title: q.title, text: q.title, displayText: q.title, value: q.value },
      ),
    };
  }
  return out;
}
