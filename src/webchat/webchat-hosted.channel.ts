import { Injectable } from '@nestjs/common';
import { GatewayError, HostedChannel, OutboundActivity } from '@app/gateway-sdk';
import { toDirectLineActivity } from '@app/gateways';
import { WebchatClock } from './webchat-clock';
import { WebchatGatewaysService } from './webchat-gateways.service';
import { WebchatStreamsService } from './webchat-streams.service';
import { WebchatTranscriptRepository } from './webchat-transcript.repository';

/**
 * How the channel core sends to a web chat user: the bot's or the agent's activity goes on the conversation's
 * transcript (once per outbound message id) and to the user's open streams; typing goes to the streams only.
 */
@Injectable()
export class WebchatHostedChannel implements HostedChannel {
  constructor(
    private readonly transcripts: WebchatTranscriptRepository,
    private readonly streams: WebchatStreamsService,
    private readonly gateways: WebchatGatewaysService,
    private readonly clock: WebchatClock,
  ) {}

  async post(platformConversationId: string, activity: OutboundActivity, options: { messageId: string }): Promise<string | null> {
    const conversation = await this.transcripts.find(platformConversationId);
    if (!conversation) throw new GatewayError('unreachable', 'no such web chat conversation', { unreachableReason: 'invalid_recipient' });
    const gateway = await this.gateways.get(conversation.gatewayId).catch(() => {
      throw new GatewayError('unreachable', 'the web chat gateway is gone or not deployed', { unreachableReason: 'session_ended' });
    });
    const stamped = {
      ...toDirectLineActivity(activity, gateway.bot),
      channelId: 'directline',
      conversation: { id: platformConversationId },
      timestamp: new Date(this.clock.now()).toISOString(),
    };
    if (stamped.type === 'typing') {
      await this.streams.typing(platformConversationId, { ...stamped, id: `${platformConversationId}|t${options.messageId}` });
      return null;
    }
    const entry = await this.transcripts.append(platformConversationId, stamped, options.messageId);
    await this.streams.appended(platformConversationId, entry);
    return String(entry.activity.id);
  }
}
