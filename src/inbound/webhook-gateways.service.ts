import { Injectable } from '@nestjs/common';
import { ChannelGateway, ChatGateway, GatewayContext } from '@app/gateway-sdk';
import { TtlCache } from '../common/ttl-cache';
import { GatewayEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';

/** How long a gateway row (and what verifying its webhooks needs) is reused; settings changes show after this. */
const GATEWAY_CACHE_MS = 5_000;
const MAX_GATEWAYS_REMEMBERED = 10_000;

/** A gateway that takes webhooks, as verifying and processing its deliveries need it. */
export interface WebhookGateway {
  entity: GatewayEntity;
  gateway: ChatGateway;
  context: GatewayContext;
  windowMs: number;
}

/** A channel gateway that takes webhooks: its deliveries become user activities at once (no reorder window). */
export interface ChannelWebhookGateway {
  entity: GatewayEntity;
  gateway: ChannelGateway;
  context: GatewayContext;
}

/**
 * What verifying and processing a delivery need, built once per gateway and cache period instead of per delivery:
 * the gateway row, its decrypted settings and a context with its logger. Only the abort signal is per call, and made
 * only when a verification calls out (a JWK fetch), each with its own 10 s. An id with no gateway behind it is
 * remembered too, so a stream of deliveries to a wrong URL cannot cost a database read each.
 */
@Injectable()
export class WebhookGateways {
  private readonly cache = new TtlCache<WebhookGateway | null>(GATEWAY_CACHE_MS, MAX_GATEWAYS_REMEMBERED);
  private readonly channels = new TtlCache<ChannelWebhookGateway | null>(GATEWAY_CACHE_MS, MAX_GATEWAYS_REMEMBERED);

  constructor(
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
    private readonly contexts: GatewayContextFactory,
  ) {}

  /** The gateway, or null when no gateway with this id takes webhooks. A database error propagates and is not kept. */
  get(gatewayId: string): Promise<WebhookGateway | null> {
    return this.cache.get(gatewayId, () => this.load(gatewayId));
  }

  /** The channel gateway, or null when no channel gateway with this id takes webhooks. */
  channel(gatewayId: string): Promise<ChannelWebhookGateway | null> {
    return this.channels.get(gatewayId, async () => {
      const [entity] = await this.gateways.findMany([gatewayId]);
      const registered = entity ? this.registry.findChannel(entity.type) : undefined;
      if (!entity || !registered?.gateway.verifyWebhook || !registered.gateway.handleWebhook) return null;
      return { entity, gateway: registered.gateway, context: this.contextOf(entity) };
    });
  }

  private async load(gatewayId: string): Promise<WebhookGateway | null> {
    const [entity] = await this.gateways.findMany([gatewayId]);
    const registered = entity ? this.registry.findEscalation(entity.type) : undefined;
    if (!entity || !registered?.gateway.verifyWebhook) return null;
    return { entity, gateway: registered.gateway, context: this.contextOf(entity), windowMs: registered.gateway.definition.inboundReorderWindowMs ?? 0 };
  }

  private contextOf(entity: GatewayEntity): GatewayContext {
    return Object.defineProperty({ ...this.contexts.create(entity, 10_000) }, 'signal', {
      get: () => AbortSignal.timeout(10_000),
      enumerable: true,
    });
  }
}
