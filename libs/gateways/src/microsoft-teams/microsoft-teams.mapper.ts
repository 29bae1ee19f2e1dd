import { createHash } from 'node:crypto';
import { ChannelAttachment, ChannelUser, GatewayError, GatewayLogger, OutboundActivity, UserActivity } from '@app/gateway-sdk';
import { BotActivity, BotAttachment, BotEntity, CardAction, ChannelAccount, TeamsReference } from './microsoft-teams.types';

export const READ_RECEIPT_EVENT = 'application/vnd.microsoft.readReceipt';
const HTML_CONTENT_TYPE = 'text/html';
const HERO_CARD = 'application/vnd.microsoft.card.hero';

/** Parses a delivery's body: one Activity object. */
export function parseActivity(rawBody: Buffer): BotActivity {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new GatewayError('invalid_request', 'the Teams delivery is not JSON');
  }
  const activity = body as BotActivity;
  if (!activity || typeof activity !== 'object' || Array.isArray(activity) || typeof activity.type !== 'string') {
    throw new GatewayError('invalid_request', 'the Teams delivery is not an Activity (no type)');
  }
  if (typeof activity.conversation?.id !== 'string' || activity.conversation.id === '') {
    throw new GatewayError('invalid_request', 'the Teams activity has no conversation.id');
  }
  return activity;
}

/** The tenant an activity comes from: `conversation.tenantId`, else `channelData.tenant.id` (older personal payloads lack one or the other). */
export function activityTenant(activity: BotActivity): string | undefined {
  return activity.conversation?.tenantId || activity.channelData?.tenant?.id || undefined;
}

/** A stable id for an activity that has none (conversationUpdate may come without): a digest of the raw body. */
export function bodyDigest(rawBody: Buffer): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex').slice(0, 32)}`;
}

/**
 * The user activities one Teams Activity means. Types Teams may send that the contract has no word for (edits,
 * deletes, reactions, invokes, new types) map to none: the Connector gets its 200 and nothing is stored.
 */
export function toUserActivities(activity: BotActivity, rawBody: Buffer, receivedAt: Date, logger: GatewayLogger): UserActivity[] {
  const id = activity.id || bodyDigest(rawBody);
  const base = {
    platformConversationId: activity.conversation!.id,
    occurredAt: timestamp(activity.timestamp) ?? receivedAt,
  };
  const from = activity.from;
  const reference = (user?: ChannelAccount) => referenceOf(activity, user ?? from);
  const fromUser = channelUser(from, activity.locale ?? clientLocale(activity.entities));
  switch (activity.type) {
    case 'message': {
      const attachments = (activity.attachments ?? []).filter((attachment) => attachment.contentType !== HTML_CONTENT_TYPE).map(toChannelAttachment);
      const text = stripMentions(activity.text ?? '', activity.entities, activity.recipient?.id);
      return [
        {
          type: 'message',
          platformActivityId: id,
          ...base,
          user: fromUser,
          text,
          ...(attachments.length > 0 ? { attachments } : {}),
          ...(activity.value !== undefined ? { value: activity.value } : {}),
          reference: reference(),
        },
      ];
    }
    case 'typing':
      return [{ type: 'typing', platformActivityId: id, ...base, user: fromUser, reference: reference() }];
    case 'event':
      if (activity.name === READ_RECEIPT_EVENT) {
        const lastRead = (activity.value as { lastReadMessageId?: unknown } | undefined)?.lastReadMessageId;
        if (typeof lastRead === 'string' && lastRead !== '') {
          return [{ type: 'receipt', platformActivityId: id, ...base, user: fromUser, receipt: { platformMessageId: lastRead, status: 'read' }, reference: reference() }];
        }
      }
      logger.debug('Teams event activity ignored', { name: activity.name, activityId: activity.id });
      return [];
    case 'installationUpdate': {
      const action = activity.action ?? '';
      if (action === 'add' || action === 'add-upgrade') return [reachability(`${id}:installation`, base, fromUser, true, reference())];
      if (action === 'remove' || action === 'remove-upgrade') return [reachability(`${id}:installation`, base, fromUser, false, reference())];
      logger.debug('Teams installationUpdate with an unknown action ignored', { action });
      return [];
    }
    case 'conversationUpdate':
      return conversationUpdate(activity, id, base, fromUser, reference);
    default:
      // messageUpdate, messageDelete, messageReaction, invoke, and types Teams adds later: 200 and ignored.
      logger.debug('Teams activity type not relayed', { type: activity.type, activityId: activity.id });
      return [];
  }
}

function conversationUpdate(
  activity: BotActivity,
  id: string,
  base: { platformConversationId: string; occurredAt: Date },
  fromUser: ChannelUser,
  reference: (user?: ChannelAccount) => Record<string, unknown>,
): UserActivity[] {
  const botId = activity.recipient?.id;
  const out: UserActivity[] = [];
  // Ids are opaque and case-sensitive: compared exactly.
  const isBot = (member: ChannelAccount) => member.id === botId;
  for (const member of activity.membersAdded ?? []) {
    if (isBot(member)) out.push(reachability(`${id}:bot-added`, base, fromUser, true, reference()));
    else out.push({ type: 'user_joined', platformActivityId: `${id}:joined:${member.id}`, ...base, user: channelUser(member, activity.locale), reference: reference(member) });
  }
  for (const member of activity.membersRemoved ?? []) {
    if (isBot(member)) out.push(reachability(`${id}:bot-removed`, base, fromUser, false, reference()));
    else out.push({ type: 'user_left', platformActivityId: `${id}:left:${member.id}`, ...base, user: channelUser(member, activity.locale), reference: reference(member) });
  }
  return out;
}

function reachability(platformActivityId: string, base: { platformConversationId: string; occurredAt: Date }, user: ChannelUser, reachable: boolean, reference: Record<string, unknown>): UserActivity {
  return {
    type: 'reachability',
    platformActivityId,
    ...base,
    user,
    reachability: reachable ? { reachable: true } : { reachable: false, reason: 'not_installed' },
    reference,
  };
}

/** The conversation reference an activity gives (latest wins at the service), for `send`. */
export function referenceOf(activity: BotActivity, user: ChannelAccount | undefined): Record<string, unknown> {
  const reference: TeamsReference = {
    serviceUrl: activity.serviceUrl ?? '',
    tenantId: activityTenant(activity),
    conversationId: activity.conversation!.id,
    conversationType: activity.conversation?.conversationType,
    userId: user?.id,
    aadObjectId: user?.aadObjectId,
    botId: activity.recipient?.id,
    botName: activity.recipient?.name,
    channelId: activity.channelId,
  };
  return Object.fromEntries(Object.entries(reference).filter(([, value]) => value !== undefined));
}

/** The user as the contract knows them: the Entra object id when Teams gives one (stable across bots), else the `29:` id. */
export function channelUser(account: ChannelAccount | undefined, locale?: string): ChannelUser {
  return {
    id: account?.aadObjectId || account?.id || 'unknown',
    ...(account?.name ? { name: account.name } : {}),
    ...(locale ? { locale } : {}),
  };
}

/**
 * The text without the bot's @mention. In channels and group chats the bot only hears messages that mention it, as
 * `<at>Bot</at>` plus a mention entity: the entities naming the bot say which markup to remove; without mention
 * entities every `<at>` element is taken to be the bot's. Other people's mentions keep their name without the markup.
 */
export function stripMentions(text: string, entities: BotEntity[] | undefined, botId: string | undefined): string {
  const mentions = (entities ?? []).filter((entity) => entity.type === 'mention' && typeof entity.text === 'string');
  let result = text;
  if (mentions.length === 0) {
    result = result.replace(/<at(?:\s[^>]*)?>[\s\S]*?<\/at>/gi, ' ');
  } else {
    for (const mention of mentions) if (botId !== undefined && mention.mentioned?.id === botId) result = result.split(mention.text!).join(' ');
    result = result.replace(/<at(?:\s[^>]*)?>([\s\S]*?)<\/at>/gi, '$1');
  }
  return result.replace(/[ \t\u00a0]{2,}/g, ' ').trim();
}

function toChannelAttachment(attachment: BotAttachment): ChannelAttachment {
  return {
    contentType: attachment.contentType,
    ...(attachment.name ? { name: attachment.name } : {}),
    ...(attachment.contentUrl ? { url: attachment.contentUrl } : {}),
    ...(attachment.content !== undefined ? { content: attachment.content } : {}),
  };
}

function clientLocale(entities: BotEntity[] | undefined): string | undefined {
  const locale = entities?.find((entity) => entity.type === 'clientInfo')?.locale;
  return typeof locale === 'string' ? locale : undefined;
}

function timestamp(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** What building outbound activities needs from the settings and the conversation reference. */
export interface OutboundShape {
  appId: string;
  conversationId: string;
  conversationType?: string;
  userId?: string;
  botName?: string;
  alert: boolean;
  agentMessageFormat: string;
}

/**
 * The Connector activities for one outbound activity. Text and attachments never share an activity: Teams would split
 * them into two messages itself and return one id that fits neither for later updates. So the text goes first, the
 * attachments second; quick replies ride on the last one (suggested actions show under the latest message). Suggested
 * actions exist only in personal chats; elsewhere the quick replies become a hero card's imBack buttons.
 */
export function toConnectorActivities(activity: OutboundActivity, shape: OutboundShape): BotActivity[] {
  const envelope = (): BotActivity => ({
    type: 'message',
    from: { id: `28:${shape.appId}`, ...(shape.botName ? { name: shape.botName } : {}) },
    conversation: { id: shape.conversationId },
    ...(shape.userId ? { recipient: { id: shape.userId } } : {}),
  });
  if (activity.type === 'typing') return [{ ...envelope(), type: 'typing' }];
  const out: BotActivity[] = [];
  const text = messageText(activity, shape.agentMessageFormat);
  if (text) out.push({ ...envelope(), textFormat: 'markdown', text });
  const attachments: BotAttachment[] = (activity.attachments ?? []).map((attachment) => ({
    contentType: attachment.contentType,
    ...(attachment.content !== undefined ? { content: attachment.content } : attachment.url ? { contentUrl: attachment.url } : {}),
    ...(attachment.name ? { name: attachment.name } : {}),
  }));
  const quickReplies = activity.quickReplies ?? [];
  const personal = shape.conversationType === undefined || shape.conversationType === 'personal';
  const actions: CardAction[] = quickReplies.map((reply) => ({ type: 'imBack', title: reply.title, value: reply.value ?? reply.title }));
  if (actions.length > 0 && !personal) attachments.push({ contentType: HERO_CARD, content: { buttons: actions } });
  if (attachments.length > 0) out.push({ ...envelope(), attachments });
  if (out.length === 0) throw new GatewayError('invalid_request', 'the outbound message has no text, attachment or quick reply');
  if (actions.length > 0 && personal) out[out.length - 1].suggestedActions = { ...(shape.userId ? { to: [shape.userId] } : {}), actions };
  if (shape.alert) out[0].channelData = { notification: { alert: true } };
  return out;
}

/** The text as Teams shows it: an agent's name put in front by the Agent Message Format, since the bot's name cannot change. */
export function messageText(activity: OutboundActivity, format: string): string | undefined {
  const text = activity.text?.trim() ? activity.text : undefined;
  if (!text || activity.author !== 'agent' || !activity.authorName?.trim() || !format.includes('{text}')) return text;
  const name = activity.authorName.trim().replace(/[\\*_`[\]<>]/g, (char) => `\\${char}`);
  // One pass, with a function: a `{text}` or `$&` inside the name or the text stays as written.
  return format.replace(/\{name\}|\{text\}/g, (field) => (field === '{name}' ? name : text));
}
