import { ChatGateway, GatewayContext } from '@app/gateway-sdk';
import { GatewayEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';

/** Gateway settings are re-read this often, so an operator's change reaches the poller without a restart. */
const GATEWAY_TTL_MS = 5_000;

/** A gateway as the poller needs it: settings opened and its context built once, not per poll. */
export interface GatewayPlan {
  entity: GatewayEntity;
  gateway: ChatGateway;
  /** The gateway's call context; each dispatch slice gives it a fresh deadline. */
  base: GatewayContext;
  intervalMs: number;
  /** Bumped whenever the interval changes, so every shard reschedules the gateway's chats once. */
  revision: number;
  until: number;
}

/** The polled gateways' plans, each read once per GATEWAY_TTL_MS for every shard of this worker. */
export class GatewayPlans {
  private readonly plans = new Map<string, GatewayPlan>();
  /** Gateways read that cannot poll (webhook-driven types, polling off, deleted), until when that reading holds. */
  private readonly unpolled = new Map<string, number>();
  private revision = 0;

  constructor(
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
    private readonly contexts: GatewayContextFactory,
    /** Deadline of one poll, the contexts' default. */
    private readonly pollTimeoutMs: number,
  ) {}

  of(gatewayId: string): GatewayPlan | undefined {
    return this.plans.get(gatewayId);
  }

  /**
   * Loads (or re-reads, every GATEWAY_TTL_MS) these gateways; gateways that cannot poll get no plan, and are not read
   * again before GATEWAY_TTL_MS either, or every tick of every shard would read them.
   */
  async refresh(wanted: Set<string>): Promise<void> {
    const now = Date.now();
    const stale = [...wanted].filter((id) => (this.plans.get(id)?.until ?? this.unpolled.get(id) ?? 0) <= now);
    if (!stale.length) return;
    for (const [id, until] of this.unpolled) if (until <= now) this.unpolled.delete(id);
    const entities = await this.gateways.findMany(stale);
    const before = new Map(stale.map((id) => [id, this.plans.get(id)]));
    for (const id of stale) {
      this.plans.delete(id);
      this.unpolled.set(id, now + GATEWAY_TTL_MS);
    }
    for (const entity of entities) {
      const registered = this.registry.findEscalation(entity.type);
      if (!registered?.gateway.poll || !registered.gateway.pollIntervalMs) continue;
      const settings = this.contexts.settings(entity);
      const intervalMs = registered.gateway.pollIntervalMs(settings);
      if (intervalMs <= 0) continue;
      const previous = before.get(entity.id);
      const revision = previous && previous.intervalMs === intervalMs ? previous.revision : ++this.revision;
      const base = this.contexts.create(entity, this.pollTimeoutMs, settings);
      this.plans.set(entity.id, { entity, gateway: registered.gateway, base, intervalMs, revision, until: now + GATEWAY_TTL_MS });
      this.unpolled.delete(entity.id);
    }
  }
}
