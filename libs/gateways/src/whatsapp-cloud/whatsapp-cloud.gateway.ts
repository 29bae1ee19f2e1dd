import { timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  ChannelContext,
  ChannelGateway,
  ChannelTemplate,
  ChannelUser,
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
import { WhatsAppCloudClient } from './whatsapp-cloud.client';
import { bodyDigest, parseDelivery, signatureValid, toChannelTemplate, toGraphMessages, toUserActivities } from './whatsapp-cloud.mapper';
import { readWhatsAppSettings, WHATSAPP_CLOUD_SETTINGS, whatsAppOutboundUrls, WhatsAppSettings } from './whatsapp-cloud.settings';

/** How long the id of an earlier part of a split message, and a mark-read, are remembered (retries come sooner). */
const REMEMBER_MS = 24 * 3600_000;
const WA_ID = /^\d{6,15}$/;

/**
 * WhatsApp through Meta's Cloud API: Meta POSTs signed webhooks (messages, statuses) to the gateway's webhook URL and
 * verifies that URL by GET first; the gateway sends with the Graph API from one business phone number. HTTP is in
 * WhatsAppCloudClient, translation in whatsapp-cloud.mapper; see docs/gateways/whatsapp-cloud.md.
 */
@ChatGatewayPlugin()
@Injectable()
export class WhatsAppCloudGateway implements ChannelGateway {
  readonly definition: GatewayDefinition & { kind: 'channel' } = {
    type: 'whatsapp-cloud',
    kind: 'channel',
    displayName: 'WhatsApp (Cloud API)',
    description: 'Talks with users on WhatsApp from one business phone number through Meta\'s Cloud API: replies in the 24-hour window, templates outside it.',
    capabilities: ['typing', 'attachments', 'quick-replies', 'read-receipts', 'delivery-receipts', 'proactive', 'templates', 'service-window', 'webhooks'],
    settings: WHATSAPP_CLOUD_SETTINGS,
    serviceWindowHours: 24,
  };

  outboundUrls(settings: SettingsValues): OutboundUrl[] {
    return whatsAppOutboundUrls(settings);
  }

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    let settings: WhatsAppSettings;
    try {
      settings = settingsOf(ctx);
    } catch (error) {
      return { ok: false, detail: `settings: ${(error as Error).message}` };
    }
    const client = new WhatsAppCloudClient(settings, ctx);
    const results: string[] = [];
    let ok = true;
    try {
      const number = await client.phoneNumber();
      results.push(`phone number ${number.display_phone_number ?? settings.phoneNumberId} (${number.verified_name ?? 'no verified name'}) readable`);
    } catch (error) {
      ok = false;
      results.push(`phone number failed: ${(error as Error).message}`);
    }
    try {
      const templates = await client.templates();
      results.push(`${templates.length} templates in the WhatsApp Business Account`);
    } catch (error) {
      ok = false;
      results.push(`templates failed: ${(error as Error).message}`);
    }
    return { ok, detail: results.join('; ') };
  }

  async verifyWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook> {
    const settings = settingsOf(ctx);
    if (request.method === 'GET') {
      const challenge = this.challengeOf(settings, request);
      return { eventId: `verification:${challenge}`, platformConversationId: null };
    }
    if (!signatureValid(request.headers['x-hub-signature-256'], request.rawBody, settings.appSecret)) {
      throw new GatewayError('auth_failed', request.headers['x-hub-signature-256'] ? 'X-Hub-Signature-256 does not match the body and the App Secret' : 'no X-Hub-Signature-256 header');
    }
    const values = parseDelivery(request.rawBody);
    const message = values.flatMap((value) => value.messages ?? [])[0];
    const status = values.flatMap((value) => value.statuses ?? [])[0];
    const first = message ? { id: message.id, conversation: message.from } : status ? { id: `${status.id}:${status.status}`, conversation: status.recipient_id } : undefined;
    return {
      eventId: typeof first?.id === 'string' ? first.id : bodyDigest(request.rawBody),
      platformConversationId: typeof first?.conversation === 'string' ? first.conversation : null,
    };
  }

  async handleWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<InboundActivities> {
    const settings = settingsOf(ctx);
    if (request.method === 'GET') {
      return { activities: [], response: { status: 200, contentType: 'text/plain', body: this.challengeOf(settings, request) } };
    }
    const values = parseDelivery(request.rawBody);
    return { activities: toUserActivities(values, { phoneNumberId: settings.phoneNumberId, graphUrl: settings.graphUrl, receivedAt: request.receivedAt, logger: ctx.logger }) };
  }

  /** A user is their WhatsApp id: the phone number in digits (a leading + is dropped). */
  addressOf(_ctx: GatewayContext, userId: string): { platformConversationId: string; user: ChannelUser; reference?: Record<string, unknown> } {
    const waId = userId.trim().replace(/^\+/, '');
    if (!WA_ID.test(waId)) {
      throw new GatewayError('unreachable', `${JSON.stringify(userId.slice(0, 40))} is not a WhatsApp id (the phone number in international format, digits only)`, {
        unreachableReason: 'invalid_recipient',
      });
    }
    return { platformConversationId: waId, user: { id: waId }, reference: { waId } };
  }

  async listTemplates(ctx: GatewayContext): Promise<ChannelTemplate[]> {
    const templates = await new WhatsAppCloudClient(settingsOf(ctx), ctx).templates();
    return templates.map(toChannelTemplate).filter((template): template is ChannelTemplate => template !== undefined);
  }

  /**
   * Sends one activity. A message with text and several files is several Graph messages (see toGraphMessages); the id
   * returned is the last one's. Earlier parts' ids are remembered under the outbound message id, so a send retried
   * after a later part failed does not repeat them. Typing is a mark-read with a typing indicator on the user's latest
   * message, as the Cloud API has no typing without it.
   */
  async send(ctx: ChannelContext, activity: OutboundActivity): Promise<SentActivity> {
    const settings = settingsOf(ctx);
    const client = new WhatsAppCloudClient(settings, ctx);
    const to = ctx.conversation.platformConversationId;
    if (!WA_ID.test(to)) throw new GatewayError('unreachable', `conversation ${to} is not a WhatsApp id`, { unreachableReason: 'invalid_recipient' });
    const lastMessageId = typeof ctx.conversation.reference?.lastMessageId === 'string' ? ctx.conversation.reference.lastMessageId : undefined;
    if (activity.type === 'typing') {
      if (settings.markInboundAsRead && lastMessageId) await this.markRead(ctx, client, lastMessageId, true);
      return { platformMessageId: null };
    }
    const parts = toGraphMessages(activity, { agentMessageFormat: settings.agentMessageFormat, logger: ctx.logger });
    if (settings.markInboundAsRead && lastMessageId) await this.markRead(ctx, client, lastMessageId, false);
    let id: string | null = null;
    for (const [index, part] of parts.entries()) {
      const last = index === parts.length - 1;
      const partKey = ctx.messageId && !last ? `whatsapp:sent:${ctx.gatewayId}:${ctx.messageId}:${index}` : undefined;
      const sent = partKey ? ctx.tokens.get(partKey) : undefined;
      if (sent) {
        id = sent.token || null;
        continue;
      }
      id = await client.sendMessage({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to,
        ...part,
        ...(ctx.messageId ? { biz_opaque_callback_data: ctx.messageId } : {}),
      });
      if (partKey) ctx.tokens.set(partKey, id ?? '', Date.now() + REMEMBER_MS);
    }
    return { platformMessageId: id };
  }

  /** Blue ticks (and "typing…") on the user's latest message; once per message unless typing. A refusal is only logged. */
  private async markRead(ctx: ChannelContext, client: WhatsAppCloudClient, messageId: string, typing: boolean): Promise<void> {
    const key = `whatsapp:read:${ctx.gatewayId}:${messageId}`;
    if (!typing && ctx.tokens.get(key)) return;
    try {
      await client.messages({ messaging_product: 'whatsapp', status: 'read', message_id: messageId, ...(typing ? { typing_indicator: { type: 'text' } } : {}) });
      ctx.tokens.set(key, '1', Date.now() + REMEMBER_MS);
    } catch (error) {
      ctx.logger.info('WhatsApp mark-read refused; the message is sent anyway', { messageId, error: (error as Error).message });
    }
  }

  /** The handshake's challenge, when `hub.mode` is subscribe and `hub.verify_token` is ours (constant time). */
  private challengeOf(settings: WhatsAppSettings, request: InboundWebhook): string {
    const query = new URL(request.url ?? '/', 'http://webhook').searchParams;
    const token = Buffer.from(query.get('hub.verify_token') ?? '');
    const expected = Buffer.from(settings.verifyToken);
    const matches = token.length === expected.length && timingSafeEqual(token, expected);
    const challenge = query.get('hub.challenge');
    if (query.get('hub.mode') !== 'subscribe' || !matches || !challenge) throw new GatewayError('auth_failed', 'WhatsApp webhook verification refused: wrong hub.mode or hub.verify_token, or no hub.challenge');
    return challenge;
  }
}

// The service hands the same settings object to every call of a gateway until they change: read them once per object.
const readSettings = new WeakMap<SettingsValues, WhatsAppSettings>();

function settingsOf(ctx: GatewayContext): WhatsAppSettings {
  let settings = readSettings.get(ctx.settings);
  if (!settings) {
    settings = readWhatsAppSettings(ctx.settings);
    readSettings.set(ctx.settings, settings);
  }
  return settings;
}
