import { DynamicModule, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DomainsModule } from '../domains/domains.module';
import { GatewayContextFactory } from './gateway-context.factory';
import { GatewayRegistry } from './gateway-registry';
import { GatewaySettingsStore } from './gateway-settings.store';
import { GatewaysController } from './gateways.controller';
import { GatewaysRepository } from './gateways.repository';
import { GatewaysService } from './gateways.service';

/** The registry and admin API; `plugins` are the gateway type modules this deployment carries. */
@Module({})
export class GatewaysModule {
  static register(plugins: Type[]): DynamicModule {
    return {
      module: GatewaysModule,
      global: true,
      imports: [DiscoveryModule, DomainsModule, ...plugins],
      controllers: [GatewaysController],
      providers: [GatewaysRepository, GatewayRegistry, GatewaySettingsStore, GatewayContextFactory, GatewaysService],
      exports: [GatewayRegistry, GatewaySettingsStore, GatewayContextFactory, GatewaysService],
    };
  }
}
