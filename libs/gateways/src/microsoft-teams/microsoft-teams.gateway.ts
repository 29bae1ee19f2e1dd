import { Injectable } from '@nestjs/common';
import {
  ChannelContext,
  ChannelGateway,
  ChatGatewayPlugin,
  ConnectionCheck,
  GatewayContext,
  GatewayDefinition,
  GatewayError,
  InboundActivities,
  InboundWebhook,
  OutboundActivity,
  OutboundUrl,
  SentActivity,
  SettingsValues,
  VerifiedWebhook,
} from '@app/gateway-sdk';
import { BotTokenClient } from './bot-token.client';
import { InboundTokenVerifier } from './inbound-token.verifier';
import { TeamsClient } from './microsoft-teams.client';
import { activityTenant, bodyDigest, parseActivity, toConnectorActivities, toUserActivities } from './microsoft-teams.mapper';
import { MICROSOFT_TEAMS_SETTINGS, readTeamsSettings, TeamsSettings, teamsOutboundUrls } from './microsoft-teams.settings';
import { BotActivity } from './microsoft-teams.types';

/** How long the id of the first part of a split message is remembered, so a retried send does not repeat it. */
const SENT_PART_TTL_MS = 24 * 3600_000;

/**
 * Microsoft Teams through Azure Bot Service (Bot Connector v3): the Connector POSTs Activities to the gateway's
 * webhook URL (the bot's messaging endpoint) with a signed token; replies go to the conversation's serviceUrl with the
 * bot's own Entra ID token. HTTP is in TeamsClient, translation in microsoft-teams.mapper; see
 * docs/gateways/microsoft-teams.md.
 */
@ChatGatewayPlugin()
@Injectable()
export class MicrosoftTeamsGateway implements ChannelGateway {
  readonly definition: GatewayDefinition & { kind: 'channel' } = {
    type: 'microsoft-teams',
    kind: 'channel',
    displayName: 'Microsoft Teams',
    description: 'Talks with users in Microsoft Teams as an Azure Bot Service bot: personal chats, group chats and channels, with cards and proactive messages.',
    capabilities: ['typing', 'attachments', 'adaptive-cards', 'quick-replies', 'read-receipts', 'proactive', 'webhooks'],
    settings: MICROSOFT_TEAMS_SETTINGS,
  };
  private readonly botTokens = new BotTokenClient();

  outboundUrls(settings: SettingsValues): OutboundUrl[] {
    return teamsOutboundUrls(settings);
  }

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    let settings: TeamsSettings;
    try {
      settings = settingsOf(ctx);
    } catch (error) {
      return { ok: false, detail: `settings: ${(error as Error).message}` };
    }
    const client = new TeamsClient(settings, ctx, this.botTokens);
    const results: string[] = [];
    let ok = true;
    try {
      const metadata = (await client.getJson(settings.openIdMetadataUrl)) as { jwks_uri?: unknown };
      if (typeof metadata?.jwks_uri !== 'string') throw new Error('no jwks_uri in it');
      const keys = (await client.getJson(metadata.jwks_uri)) as { keys?: unknown };
      results.push(`OpenID metadata and signing keys readable (${Array.isArray(keys?.keys) ? keys.keys.length : 0} keys)`);
    } catch (error) {
      ok = false;
      results.push(`OpenID metadata failed: ${(error as Error).message}`);
    }
    try {
      // A fresh token, so that the check proves the credentials as they are now set.
      this.botTokens.invalidate(ctx, settings);
      await this.botTokens.token(ctx, settings);
      results.push(`bot token obtained from tenant ${settings.tokenTenant}`);
    } catch (error) {
      ok = false;
      results.push(`bot token failed: ${(error as Error).message}`);
    }
    return { ok, detail: results.join('; ') };
  }

  async verifyWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook> {
    const settings = settingsOf(ctx);
    let activity: BotActivity | undefined;
    let unreadable: unknown;
    try {
      activity = parseActivity(request.rawBody);
    } catch (error) {
      unreadable = error;
    }
    // The token first: an unauthenticated caller learns nothing about how its body was read.
    const client = new TeamsClient(settings, ctx, this.botTokens);
    await new InboundTokenVerifier(settings, { tokens: ctx.tokens, logger: ctx.logger, getJson: (url) => client.getJson(url) }).verify(
      request.headers,
      activity ?? { type: '' },
    );
    if (!activity) throw unreadable;
    return {
      eventId: `${activity.conversation!.id}:${activity.id || bodyDigest(request.rawBody)}`,
      platformConversationId: activity.conversation!.id,
      ...(activity.timestamp && !Number.isNaN(Date.parse(activity.timestamp)) ? { occurredAt: new Date(activity.timestamp) } : {}),
    };
  }

  async handleWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<InboundActivities> {
    const settings = settingsOf(ctx);
    const activity = parseActivity(request.rawBody);
    const tenant = activityTenant(activity);
    if (settings.allowedUserTenants && !(tenant && settings.allowedUserTenants.has(tenant))) {
      // The Azure "single tenant" bot type does not stop other tenants from installing the app: the check is ours.
      ctx.logger.warn('Teams activity from a tenant not allowed; dropped', { tenant: tenant ?? null, type: activity.type, conversationId: activity.conversation!.id });
      return { activities: [] };
    }
    return { activities: toUserActivities(activity, request.rawBody, request.receivedAt, ctx.logger) };
  }

  /**
   * Sends to the conversation of the stored reference. A message with text and attachments is two Connector
   * activities (see toConnectorActivities); the id returned is the last one's, since Teams' read receipts name the
   * latest message read. The earlier part's id is remembered under the outbound message id, so a send retried after
   * the second part failed does not post the text twice.
   */
  async send(ctx: ChannelContext, activity: OutboundActivity): Promise<SentActivity> {
    const settings = settingsOf(ctx);
    const reference = ctx.conversation.reference ?? {};
    const serviceUrl = typeof reference.serviceUrl === 'string' ? reference.serviceUrl : '';
    if (!serviceUrl) throw new GatewayError('unreachable', 'No Teams conversation reference is known for this conversation (the app was never heard from)', { unreachableReason: 'not_installed' });
    const conversationId = typeof reference.conversationId === 'string' ? reference.conversationId : ctx.conversation.platformConversationId;
    const parts = toConnectorActivities(activity, {
      appId: settings.appId,
      conversationId,
      conversationType: typeof reference.conversationType === 'string' ? reference.conversationType : undefined,
      userId: typeof reference.userId === 'string' ? reference.userId : undefined,
      botName: typeof reference.botName === 'string' ? reference.botName : undefined,
      alert: activity.proactive === true && settings.alertOnProactive,
      agentMessageFormat: settings.agentMessageFormat,
    });
    const client = new TeamsClient(settings, ctx, this.botTokens);
    let id: string | null = null;
    for (const [index, part] of parts.entries()) {
      const last = index === parts.length - 1;
      const partKey = ctx.messageId && !last ? `teams:sent:${ctx.gatewayId}:${ctx.messageId}:${index}` : undefined;
      const sent = partKey ? ctx.tokens.get(partKey) : undefined;
      if (sent) {
        id = sent.token || null;
        continue;
      }
      id = await client.sendToConversation(serviceUrl, conversationId, part);
      if (partKey) ctx.tokens.set(partKey, id ?? '', Date.now() + SENT_PART_TTL_MS);
    }
    return { platformMessageId: activity.type === 'typing' ? null : id };
  }
}

// The service hands the same settings object to every call of a gateway until they change: read them once per object.
const readSettings = new WeakMap<SettingsValues, TeamsSettings>();

function settingsOf(ctx: GatewayContext): TeamsSettings {
  let settings = readSettings.get(ctx.settings);
  if (!settings) {
    settings = readTeamsSettings(ctx.settings);
    readSettings.set(ctx.settings, settings);
  }
  return settings;
}
