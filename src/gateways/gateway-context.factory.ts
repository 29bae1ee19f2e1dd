import { Injectable } from '@nestjs/common';
import { GatewayContext, GatewayLogger, MemoryTokenCache, OutboundHttpClient, SettingsValues } from '@app/gateway-sdk';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { GatewayEntity } from '../database/entities';
import { GatewaySettingsStore } from './gateway-settings.store';

/**
 * Builds the per-call context a stateless gateway receives (decrypted settings, logger, token cache, abort signal, the
 * service's outbound HTTP).
 */
@Injectable()
export class GatewayContextFactory {
  private readonly tokens = new MemoryTokenCache();

  constructor(
    private readonly store: GatewaySettingsStore,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
    private readonly outbound: OutboundHttpClient,
  ) {}

  settings(gateway: GatewayEntity): SettingsValues {
    const values = this.store.open(gateway.settings);
    values.basic = { ...values.basic, name: gateway.name, deployed: gateway.deployed, locale: gateway.locale };
    return values;
  }

  webhookUrl(gatewayId: string): string {
    return `${this.config.publicBaseUrl}/v1/webhooks/${gatewayId}`;
  }

  create(gateway: GatewayEntity, timeoutMs = 30_000, settings?: SettingsValues): GatewayContext {
    const log = this.logger.child(`gateway:${gateway.type}`);
    const logger: GatewayLogger = {
      debug: (m, f) => log.debug(m, { gatewayId: gateway.id, ...f }),
      info: (m, f) => log.info(m, { gatewayId: gateway.id, ...f }),
      warn: (m, f) => log.warn(m, { gatewayId: gateway.id, ...f }),
      error: (m, f) => log.error(m, { gatewayId: gateway.id, ...f }),
    };
    return {
      gatewayId: gateway.id,
      settings: settings ?? this.settings(gateway),
      provisioning: gateway.provisioning ?? {},
      webhookUrl: this.webhookUrl(gateway.id),
      logger,
      signal: AbortSignal.timeout(timeoutMs),
      tokens: this.tokens,
      http: this.outbound,
    };
  }
}
