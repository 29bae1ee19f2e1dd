import { Injectable } from '@nestjs/common';
import { ChannelContext, ChannelGateway } from '@app/gateway-sdk';
import { DomainError } from '../common/domain-error';
import { TtlCache } from '../common/ttl-cache';
import { ChannelConversationEntity, GatewayEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { HostedChannelRegistry } from './hosted-channel.registry';

const SEND_TIMEOUT_MS = 20_000;
/** How long a gateway's row is reused for sends: a settings change reaches the senders within this. */
const GATEWAY_CACHE_MS = 5_000;

/** What a channel gateway needs for a call about one conversation: its type, its row, the context. */
@Injectable()
export class ChannelContexts {
  private readonly entities = new TtlCache<GatewayEntity | undefined>(GATEWAY_CACHE_MS);

  constructor(
    private readonly registry: GatewayRegistry,
    private readonly gateways: GatewaysService,
    private readonly contexts: GatewayContextFactory,
    private readonly hosted: HostedChannelRegistry,
  ) {}

  async gatewayOf(gatewayId: string): Promise<{ gateway: ChannelGateway; entity: GatewayEntity }> {
    const entity = await this.entity(gatewayId);
    if (!entity) throw DomainError.notFound('Gateway', gatewayId);
    return { gateway: this.registry.getChannel(entity.type).gateway, entity };
  }

  /**
   * A gateway's row, read at most once per GATEWAY_CACHE_MS for the whole channel module: every drain of every
   * conversation and every proactive request asks (a fan-out asks thousands of times a minute).
   */
  entity(gatewayId: string): Promise<GatewayEntity | undefined> {
    return this.entities.get(gatewayId, async () => (await this.gateways.findMany([gatewayId]))[0]);
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
