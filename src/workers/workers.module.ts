import { DynamicModule, Module } from '@nestjs/common';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { ChannelsModule } from '../channels/channels.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { EscalationsModule } from '../escalations/escalations.module';
import { InboundModule } from '../inbound/inbound.module';
import { ChannelSendsProcessor } from './channel-sends.processor';
import { DeliveriesProcessor } from './deliveries.processor';
import { EscalationRequestsProcessor } from './escalation-requests.processor';
import { EscalationsProcessor } from './escalations.processor';
import { InboundProcessor } from './inbound.processor';
import { PollsProcessor } from './polls.processor';
import { ReconcileService } from './reconcile.service';

/** The queues' processors and the reconcile pass: in the worker role only, thin layers over the modules below. */
@Module({})
export class WorkersModule {
  static register(config: AppConfig): DynamicModule {
    return modulePerConfig(config, WorkersModule, () => ({
      module: WorkersModule,
      imports: [DeliveryModule.register(config), EscalationsModule.register(config), ChannelsModule.register(config), InboundModule.register(config)],
      providers: config.runsWorker ? [ChannelSendsProcessor, DeliveriesProcessor, EscalationRequestsProcessor, EscalationsProcessor, InboundProcessor, PollsProcessor, ReconcileService] : [],
    }));
  }
}
