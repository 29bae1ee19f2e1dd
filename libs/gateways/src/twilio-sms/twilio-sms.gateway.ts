import { Injectable } from '@nestjs/common';
import {
  ChannelContext,
  ChannelGateway,
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
import { conversationOf, inboundActivities, isStatusCallback, mediaUrls, outboundText, parseForm, splitText, statusActivities } from './twilio-sms.mapper';
import { TwilioSmsClient } from './twilio-sms.client';
import { isE164, readTwilioSmsSettings, TWILIO_SMS_SETTINGS, TwilioSmsSettings, twilioSmsOutboundUrls } from './twilio-sms.settings';
import { verifyTwilioSignature } from './twilio-signature.verifier';

/** Twilio answers an inbound message with this: no reply from Twilio itself; the bot's replies go by the REST API. */
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
/** How long the SID of an earlier part of a split message is remembered, so a retried send does not repeat it. */
const SENT_PART_TTL_MS = 24 * 3600_000;

/**
 * SMS and MMS through Twilio Programmable Messaging: Twilio POSTs inbound messages and status callbacks, signed with
 * X-Twilio-Signature, to the gateway's webhook URL; messages go out by `POST Messages.json`. HTTP is in
 * TwilioSmsClient, translation in twilio-sms.mapper; see docs/gateways/twilio-sms.md.
 */
@ChatGatewayPlugin()
@Injectable()
export class TwilioSmsGateway implements ChannelGateway {
  readonly definition: GatewayDefinition & { kind: 'channel' } = {
    type: 'twilio-sms',
    kind: 'channel',
    displayName: 'Twilio SMS',
    description: 'Talks with users by SMS and MMS through Twilio: inbound messages and delivery statuses by webhook, STOP/START opt-outs, proactive messages to a phone number.',
    capabilities: ['attachments', 'delivery-receipts', 'proactive', 'webhooks'],
    settings: TWILIO_SMS_SETTINGS,
  };

  outboundUrls(settings: SettingsValues): OutboundUrl[] {
    return twilioSmsOutboundUrls(settings);
  }

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    let settings: TwilioSmsSettings;
    try {
      settings = settingsOf(ctx);
    } catch (error) {
      return { ok: false, detail: `settings: ${(error as Error).message}` };
    }
    try {
      const account = await new TwilioSmsClient(settings, ctx).fetchAccount();
      const active = account.status === undefined || account.status === 'active';
      return { ok: active, detail: `account ${settings.accountSid} ${account.status ?? 'readable'}${account.friendlyName ? ` (${account.friendlyName})` : ''}` };
    } catch (error) {
      return { ok: false, detail: `account ${settings.accountSid}: ${(error as Error).message}` };
    }
  }

  async verifyWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook> {
    const settings = settingsOf(ctx);
    const form = parseForm(request.rawBody);
    const urls = settings.webhookUrl ? [settings.webhookUrl] : [request.url ?? ctx.webhookUrl];
    verifyTwilioSignature(header(request, 'x-twilio-signature'), urls, form.params, settings.authTokens);
    const sid = form.get('MessageSid') ?? form.get('SmsSid');
    if (!sid || !form.get('From') || !form.get('To')) throw new GatewayError('invalid_request', 'Twilio webhook without MessageSid, From or To');
    const status = form.get('MessageStatus');
    return { eventId: status === undefined ? sid : `${sid}:${status}`, platformConversationId: conversationOf(form, settings), occurredAt: request.receivedAt };
  }

  async handleWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<InboundActivities> {
    const settings = settingsOf(ctx);
    const form = parseForm(request.rawBody);
    if (isStatusCallback(form)) return { activities: statusActivities(form, settings, request.receivedAt) };
    return { activities: inboundActivities(form, settings, request.receivedAt), response: { status: 200, contentType: 'text/xml', body: EMPTY_TWIML } };
  }

  addressOf(ctx: GatewayContext, userId: string): { platformConversationId: string; user: ChannelUser; reference: Record<string, unknown> } {
    const settings = settingsOf(ctx);
    if (!isE164(userId)) throw new GatewayError('unreachable', `${JSON.stringify(userId.slice(0, 40))} is not an E.164 phone number`, { unreachableReason: 'invalid_recipient' });
    return { platformConversationId: `${userId}:${settings.sender}`, user: { id: userId }, reference: { from: settings.sender, to: userId } };
  }

  /**
   * Sends one message: text (an agent's prefixed) and attachments as MMS media. A text longer than Max Segments goes
   * as several messages; an earlier part's SID is remembered under the outbound message id, so a send retried after a
   * later part failed does not send it twice. The last part's SID is returned.
   */
  async send(ctx: ChannelContext, activity: OutboundActivity): Promise<SentActivity> {
    if (activity.type === 'typing') return { platformMessageId: null };
    const settings = settingsOf(ctx);
    const { from, to } = addressing(ctx, settings);
    if (!isE164(to)) throw new GatewayError('unreachable', `${JSON.stringify(to.slice(0, 40))} is not an E.164 phone number`, { unreachableReason: 'invalid_recipient' });
    const text = outboundText(activity, settings);
    const media = mediaUrls(activity);
    if (!text && media.length === 0) throw new GatewayError('invalid_request', 'Nothing to send: no text and no media');
    const parts = text ? splitText(text, settings.maxSegments) : [''];
    const client = new TwilioSmsClient(settings, ctx);
    let sid = '';
    for (const [index, body] of parts.entries()) {
      const last = index === parts.length - 1;
      const partKey = ctx.messageId && !last ? `twilio:sent:${ctx.gatewayId}:${ctx.messageId}:${index}` : undefined;
      const sent = partKey ? ctx.tokens.get(partKey) : undefined;
      if (sent) continue;
      const params: Array<[string, string]> = [['To', to], from.startsWith('MG') ? ['MessagingServiceSid', from] : ['From', from]];
      if (body) params.push(['Body', body]);
      // The media go with the last part, so that the text reads before them.
      if (last) for (const url of media) params.push(['MediaUrl', url]);
      if (settings.statusCallbacks) params.push(['StatusCallback', settings.webhookUrl ?? ctx.webhookUrl]);
      sid = await client.createMessage(params);
      if (partKey) ctx.tokens.set(partKey, sid, Date.now() + SENT_PART_TTL_MS);
    }
    return { platformMessageId: sid };
  }
}

/** Who sends and who receives: the stored reference, else the conversation id `${user}:${business}`, else the settings. */
function addressing(ctx: ChannelContext, settings: TwilioSmsSettings): { from: string; to: string } {
  const reference = ctx.conversation.reference ?? {};
  const [user, business] = ctx.conversation.platformConversationId.split(':');
  const to = typeof reference.to === 'string' && reference.to ? reference.to : user || ctx.conversation.user.id;
  const from = typeof reference.from === 'string' && reference.from ? reference.from : business || settings.sender;
  return { from, to };
}

function header(request: InboundWebhook, name: string): string | undefined {
  const direct = request.headers[name];
  if (direct !== undefined) return direct;
  return Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

// The service hands the same settings object to every call of a gateway until they change: read them once per object.
const readSettings = new WeakMap<SettingsValues, TwilioSmsSettings>();

function settingsOf(ctx: GatewayContext): TwilioSmsSettings {
  let settings = readSettings.get(ctx.settings);
  if (!settings) {
    settings = readTwilioSmsSettings(ctx.settings);
    readSettings.set(ctx.settings, settings);
  }
  return settings;
}
