import { DynamicModule, Module, Type } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { ConnectionOptions } from 'bullmq';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  EightByEightGatewayModule,
  FakeGatewayModule,
  GenesysPureEngageGatewayModule,
  MicrosoftTeamsGatewayModule,
  TwilioSmsGatewayModule,
  WebchatGatewayModule,
  WhatsAppCloudGatewayModule,
} from '@app/gateways';
import { AccountsModule } from './accounts/accounts.module';
import { AuthModule } from './auth/auth.module';
import { AppLogger } from './common/app-logger';
import { AppConfig } from './config/app-config';
import { AppOptions, CoreModule } from './core.module';
import { dataSourceOptions } from './database/database';
import { DomainsModule } from './domains/domains.module';
import { ChannelsModule } from './channels/channels.module';
import { ConversationsModule } from './conversations/conversations.module';
import { DeliveryModule } from './delivery/delivery.module';
import { EscalationsModule } from './escalations/escalations.module';
import { InboundModule } from './inbound/inbound.module';
import { WorkersModule } from './workers/workers.module';
import { GatewaysModule } from './gateways/gateways.module';
import { HealthController } from './health/health.controller';
import { MetricsModule } from './metrics/metrics.module';
import { QueuesModule } from './queues/queues.module';
import { redisOptions } from './queues/redis-connection';
import { WebchatModule } from './webchat/webchat.module';

/** Gateway type modules of a production deployment. */
export const PRODUCTION_GATEWAY_MODULES: Type[] = [
  GenesysPureEngageGatewayModule,
  EightByEightGatewayModule,
  WebchatGatewayModule,
  MicrosoftTeamsGatewayModule,
  TwilioSmsGatewayModule,
  WhatsAppCloudGatewayModule,
];

/** Composition root. The role decides which parts run: HTTP controllers (api) and processors (worker). */
@Module({})
export class AppModule {
  static register(config: AppConfig, logger: AppLogger, options: AppOptions = {}): DynamicModule {
    const plugins = [...PRODUCTION_GATEWAY_MODULES, ...(config.FAKE_GATEWAY_ENABLED ? [FakeGatewayModule] : [])];
    return {
      module: AppModule,
      imports: [
        CoreModule.register(config, logger, options),
        TypeOrmModule.forRoot(dataSourceOptions(config.DATABASE_URL, config.DATABASE_POOL_SIZE)),
        BullModule.forRoot({ connection: redisOptions(config) as ConnectionOptions, prefix: config.REDIS_PREFIX }),
        QueuesModule,
        MetricsModule,
        TerminusModule,
        AuthModule,
        DomainsModule,
        AccountsModule,
        GatewaysModule.register(plugins),
        ConversationsModule.register(config),
        DeliveryModule.register(config),
        EscalationsModule.register(config),
        ChannelsModule.register(config),
        InboundModule.register(config),
        WorkersModule.register(config),
        WebchatModule.register(config),
      ],
      controllers: [HealthController],
    };
  }
}
