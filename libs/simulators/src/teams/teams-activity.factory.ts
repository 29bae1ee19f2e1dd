import { randomBytes } from 'node:crypto';
import { TeamsBotRegistration, TeamsUser } from './teams-simulator.types';

/** Where an activity happens: the bot, the user, their 1:1 conversation and the service URL the Connector stamps. */
export interface TeamsActivityContext {
  bot: TeamsBotRegistration;
  user: TeamsUser;
  conversationId: string;
  serviceUrl: string;
  now: number;
}

type Activity = Record<string, unknown>;

/** The envelope Teams puts on every activity to a bot in a personal chat. */
export function baseActivity(context: TeamsActivityContext, type: string, id: string): Activity {
  const { bot, user } = context;
  return {
    type,
    id,
    timestamp: new Date(context.now).toISOString(),
    localTimestamp: new Date(context.now).toISOString().replace('Z', '+00:00'),
    serviceUrl: context.serviceUrl,
    channelId: 'msteams',
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    conversation: { conversationType: 'personal', tenantId: user.tenantId, id: context.conversationId },
    recipient: { id: `28:${bot.appId}`, name: bot.name ?? bot.appId },
    entities: [{ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Madrid' }],
    channelData: { tenant: { id: user.tenantId } },
    locale: 'en-US',
    localTimezone: 'Europe/Madrid',
  };
}

/** conversationUpdate ids are not message ids: Teams uses `f:` and a hex string. */
export function eventId(): string {
  return `f:${randomBytes(8).toString('hex')}`;
}

export function installActivities(context: TeamsActivityContext): Activity[] {
  const { bot, user } = context;
  return [
    { ...baseActivity(context, 'conversationUpdate', eventId()), membersAdded: [{ id: `28:${bot.appId}` }, { id: user.id, aadObjectId: user.aadObjectId }] },
    { ...baseActivity(context, 'installationUpdate', eventId()), action: 'add', channelData: { tenant: { id: user.tenantId }, source: { name: 'message' } } },
  ];
}

export function uninstallActivities(context: TeamsActivityContext): Activity[] {
  return [
    { ...baseActivity(context, 'installationUpdate', eventId()), action: 'remove', channelData: { tenant: { id: context.user.tenantId }, source: { name: 'message' } } },
    { ...baseActivity(context, 'conversationUpdate', eventId()), membersRemoved: [{ id: `28:${context.bot.appId}` }] },
  ];
}

/** What the user typed; rich text also arrives as a text/html attachment, as Teams sends it. */
export function messageActivity(context: TeamsActivityContext, id: string, text: string, html = false): Activity {
  const activity: Activity = { ...baseActivity(context, 'message', id), textFormat: 'plain', text };
  if (html) activity.attachments = [{ contentType: 'text/html', content: `<p>${escapeHtml(text)}</p>` }];
  return activity;
}

/** An Adaptive Card `Action.Submit`: a message with empty text and the inputs in `value`. */
export function cardSubmitActivity(context: TeamsActivityContext, id: string, value: Record<string, unknown>, replyToId?: string): Activity {
  const activity: Activity = { ...baseActivity(context, 'message', id), textFormat: 'plain', text: '', value };
  if (replyToId) activity.replyToId = replyToId;
  return activity;
}

export function readReceiptActivity(context: TeamsActivityContext, id: string, lastReadMessageId: string): Activity {
  return { ...baseActivity(context, 'event', id), name: 'application/vnd.microsoft.readReceipt', value: { lastReadMessageId } };
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
