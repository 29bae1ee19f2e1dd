import { Injectable } from '@nestjs/common';
import {
  ChannelContext,
  ChannelGateway,
  ChatGatewayPlugin,
  ConnectionCheck,
  GatewayContext,
  GatewayDefinition,
  GatewayError,
  OutboundActivity,
  SentActivity,
} from '@app/gateway-sdk';
import { WEBCHAT_SETTINGS } from './webchat.settings';

/**
 * Web chat served by this service over Direct Line 3.0 (capability `hosted`): there is no platform to call. The
 * Direct Line server (src/webchat) receives the user's activities and holds each conversation's transcript; sending
 * appends to that transcript through `ctx.hosted`, which pushes it to the user's open streams.
 */
@ChatGatewayPlugin()
@Injectable()
export class WebchatGateway implements ChannelGateway {
  readonly definition: GatewayDefinition & { kind: 'channel' } = {
    type: 'webchat',
    kind: 'channel',
    displayName: 'Web Chat (Direct Line 3.0)',
    description: "Microsoft's Web Chat widget and other Direct Line 3.0 clients, served by this service.",
    capabilities: ['typing', 'attachments', 'adaptive-cards', 'quick-replies', 'hosted'],
    settings: WEBCHAT_SETTINGS,
  };

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    const secret = ctx.settings.basic.directLineSecret;
    if (typeof secret !== 'string' || secret.length < 32) return { ok: false, detail: 'the Direct Line secret must have at least 32 characters' };
    return { ok: true, detail: 'served by this service; nothing to reach' };
  }

  async send(ctx: ChannelContext, activity: OutboundActivity): Promise<SentActivity> {
    if (!ctx.hosted) throw new GatewayError('invalid_request', 'web chat is served by the service: no hosted channel in this context');
    if (!ctx.messageId) throw new GatewayError('invalid_request', 'no outbound message id in the send context');
    const platformMessageId = await ctx.hosted.post(ctx.conversation.platformConversationId, activity, { messageId: ctx.messageId });
    return { platformMessageId };
  }
}
