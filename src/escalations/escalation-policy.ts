import { Injectable } from '@nestjs/common';
import { AgentOverride, EscalationPolicy, SETTINGS_GROUPS, SettingsValues } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { GatewayEntity } from '../database/entities';
import { TtlCache } from '../common/ttl-cache';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewaysService } from '../gateways/gateways.service';

const CACHE_MS = 5_000;

/** Finds a behaviour setting by its conventional name in whichever group the gateway type declared it. */
function pick(settings: SettingsValues, name: string): unknown {
  for (const group of SETTINGS_GROUPS) if (settings[group]?.[name] !== undefined) return settings[group][name];
  return undefined;
}

export function policyFromSettings(settings: SettingsValues): EscalationPolicy {
  return {
    transferBackOnAgentClose: pick(settings, 'transferBackOnAgentClose') === true,
    agentOverride: (pick(settings, 'agentOverride') as AgentOverride) ?? 'agent_name_only',
    escalationTimeoutSeconds: Number(pick(settings, 'escalationTimeoutSeconds') ?? 600),
    apiRetry: {
      maxAttempts: Number(pick(settings, 'apiRetryMaxAttempts') ?? 5),
      initialDelayMs: Number(pick(settings, 'apiRetryInitialDelayMs') ?? 4200),
      multiplier: Number(pick(settings, 'apiRetryMultiplier') ?? 2),
    },
  };
}

/** The engine's view of a gateway's behaviour settings (briefly cached; settings change rarely). */
@Injectable()
export class EscalationPolicyResolver {
  private readonly cache = new TtlCache<EscalationPolicy>(CACHE_MS);

  constructor(
    private readonly gateways: GatewaysService,
    private readonly contexts: GatewayContextFactory,
  ) {}

  /**
   * Callers in flight when the period ends share one read, through the first one's manager (which may be its
   * transaction: reading through another would need a second pooled connection).
   */
  forGateway(gatewayId: string, em?: EntityManager): Promise<EscalationPolicy> {
    return this.cache.get(gatewayId, async () => {
      const [gateway] = await this.gateways.findMany([gatewayId], em);
      if (!gateway) throw new Error(`gateway ${gatewayId} not found`);
      return this.policyOf(gateway);
    });
  }

  /** The policy of a gateway row just read or written, remembered for the cache period. */
  remember(gateway: GatewayEntity): EscalationPolicy {
    const policy = this.policyOf(gateway);
    this.cache.set(gateway.id, policy);
    return policy;
  }

  private policyOf(gateway: GatewayEntity): EscalationPolicy {
    return policyFromSettings(this.contexts.settings(gateway));
  }
}
