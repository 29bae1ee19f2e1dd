import { Injectable } from '@nestjs/common';
import { ChannelContext, ChannelGateway } from '@app/gateway-sdk';
import { EVERY_DOMAIN } from '../auth/domain-scope';
import { ChannelConversationEntity, GatewayEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { HostedChannelRegistry } from './hosted-channel.registry';

const SEND_TIMEOUT_MS = 20_000;

/** What a channel gateway needs for a call about one conversation: its type, its row, the context. */
@Injectable()
export class ChannelContexts {
  constructor(
    private readonly registry: GatewayRegistry,
    private readonly gateways: GatewaysService,
    private readonly contexts: GatewayContextFactory,
    private readonly hosted: HostedChannelRegistry,
  ) {}

  async gatewayOf(gatewayId: string): Promise<{ gateway: ChannelGateway; entity: GatewayEntity }> {
    const entity = await this.gateways.get(gatewayId, EVERY_DOMAIN);
    return { gateway: this.registry.getChannel(entity.type).gateway, entity };
  }

  context(gateway: ChannelGateway, entity: GatewayEntity, conversation: ChannelConversationEntity, messageId?: string): ChannelContext {
    const hosted = gateway.definition.capabilities.includes('hosted') ? this.hosted.find(entity.type) : undefined;
    return {
      ...this.contexts.create(entity, SEND_TIMEOUT_MS),
      conversation: { id: conversation.id, platformConversationId: conversation.platformConversationId, user: conversation.user, reference: conversation.reference },
      ...(hosted ? { hosted } : {}),
      ...(messageId ? { messageId } : {}),
    };
  }
}
