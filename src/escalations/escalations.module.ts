import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/app-config';
import { DeliveryService } from '../delivery/delivery.service';
import { RedisLock } from '../queues/redis-lock';
import { InboundWebhookRetention } from '../inbound/inbound-webhook-retention.service';
import { InboundWebhooksService } from '../inbound/inbound-webhooks.service';
import { DeliveriesProcessor } from '../workers/deliveries.processor';
import { EscalationRequestsProcessor } from '../workers/escalation-requests.processor';
import { EscalationsProcessor } from '../workers/escalations.processor';
import { InboundProcessor } from '../workers/inbound.processor';
import { PollsProcessor } from '../workers/polls.processor';
import { ConversationsController } from '../conversations/conversations.controller';
import { ConversationsVacuum } from '../conversations/conversations-vacuum.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationRetention } from './escalation-retention.service';
import { EscalationQueriesService } from './escalation-queries.service';
import { EscalationRunner } from './escalation-runner.service';
import { EscalationsController } from './escalations.controller';
import { EscalationsRepository } from './escalations.repository';
import { EscalationsService } from './escalations.service';
import { EscalationIngestService } from './escalation-ingest.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { PollService } from '../inbound/poll.service';
import { ReconcileService } from '../workers/reconcile.service';

/** Escalations end to end: intake, engine, delivery, inbound webhooks. Processors run only in the worker role. */
@Module({})
export class EscalationsModule {
  static register(config: AppConfig): DynamicModule {
    const services = [
      EscalationsRepository,
      EscalationPolicyResolver,
      EscalationIngestService,
      EscalationRunner,
      EscalationsService,
      EscalationQueriesService,
      JobDispatcher,
      RedisLock,
      DeliveryService,
      InboundWebhooksService,
      PollService,
    ];
    const workers = config.runsWorker
      ? [EscalationsProcessor, DeliveriesProcessor, EscalationRequestsProcessor, InboundProcessor, PollsProcessor, ReconcileService, InboundWebhookRetention, EscalationRetention, ConversationsVacuum]
      : [];
    return {
      module: EscalationsModule,
      imports: [AuthModule],
      controllers: config.runsApi ? [EscalationsController, ConversationsController] : [],
      providers: [...services, ...workers],
      exports: services,
    };
  }
}
