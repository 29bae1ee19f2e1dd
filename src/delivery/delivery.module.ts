import { DynamicModule, Module } from '@nestjs/common';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { ConversationsModule } from '../conversations/conversations.module';
import { DeliveryBacklogMetrics } from './delivery-backlog.metrics';
import { DeliveryClaimsRepository } from './delivery-claims.repository';
import { DeliveryController } from './delivery.controller';
import { DeliveryService } from './delivery.service';

/** Delivery of stored events to the bot platform: claims, signing, sending, retries and their attempts. */
@Module({})
export class DeliveryModule {
  static register(config: AppConfig): DynamicModule {
    return modulePerConfig(config, DeliveryModule, () => ({
      module: DeliveryModule,
      imports: [ConversationsModule.register(config)],
      controllers: config.runsApi ? [DeliveryController] : [],
      providers: [DeliveryClaimsRepository, DeliveryService, DeliveryBacklogMetrics],
      exports: [DeliveryClaimsRepository, DeliveryService],
    }));
  }
}
