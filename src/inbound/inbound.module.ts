import { DynamicModule, Module } from '@nestjs/common';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { ChannelsModule } from '../channels/channels.module';
import { EscalationsModule } from '../escalations/escalations.module';
import { CloseWait } from './close-wait.service';
import { InboundPasses } from './inbound-passes.service';
import { InboundWebhookRetention } from './inbound-webhook-retention.service';
import { InboundWebhooksRepository } from './inbound-webhooks.repository';
import { PollSchedulers } from './poll-schedulers.service';
import { PollService } from './poll.service';
import { WebhookGateways } from './webhook-gateways.service';
import { WebhookIntakeService } from './webhook-intake.service';

/**
 * What platforms send and what is read from them: webhook intake and processing, and the polling of poll-based
 * platforms in shards. The intake route is mounted on the HTTP server (`mountWebhookIntake`); polling and the
 * retention run in the worker role only.
 */
@Module({})
export class InboundModule {
  static register(config: AppConfig): DynamicModule {
    const services = [InboundWebhooksRepository, WebhookGateways, WebhookIntakeService, InboundPasses, CloseWait, PollService, PollSchedulers];
    return modulePerConfig(config, InboundModule, () => ({
      module: InboundModule,
      imports: [EscalationsModule.register(config), ChannelsModule.register(config)],
      providers: [...services, ...(config.runsWorker ? [InboundWebhookRetention] : [])],
      exports: [WebhookIntakeService, InboundPasses, CloseWait, PollService, PollSchedulers],
    }));
  }
}
