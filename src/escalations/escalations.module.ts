import { DynamicModule, Module } from '@nestjs/common';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { ConversationsModule } from '../conversations/conversations.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { DomainsModule } from '../domains/domains.module';
import { AttachmentsRepository } from './attachments.repository';
import { EscalationContexts } from './escalation-contexts.service';
import { EscalationIngestService } from './escalation-ingest.service';
import { EscalationLifecycle } from './escalation-lifecycle.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationQueriesService } from './escalation-queries.service';
import { EscalationRecorder } from './escalation-recorder.service';
import { EscalationRetention } from './escalation-retention.service';
import { EscalationsController } from './escalations.controller';
import { EscalationsRepository } from './escalations.repository';
import { EscalationsService } from './escalations.service';
import { FileLinks } from './file-links';
import { FileLinksController } from './file-links.controller';
import { RelayCommandsRepository } from './relay-commands.repository';
import { RelayDrainer } from './relay-drainer.service';
import { SwitchboardHooksRegistry } from './switchboard-hooks';

/**
 * Escalations: intake (REST and queue), their state machine, and the platform side of each (start, relay in order,
 * polls, timeouts, ends), with what their events mean for them. Retention runs in the worker role only.
 */
@Module({})
export class EscalationsModule {
  static register(config: AppConfig): DynamicModule {
    const services = [
      EscalationsRepository,
      RelayCommandsRepository,
      AttachmentsRepository,
      EscalationPolicyResolver,
      EscalationIngestService,
      EscalationRecorder,
      EscalationContexts,
      EscalationLifecycle,
      RelayDrainer,
      EscalationsService,
      EscalationQueriesService,
      SwitchboardHooksRegistry,
      FileLinks,
    ];
    return modulePerConfig(config, EscalationsModule, () => ({
      module: EscalationsModule,
      imports: [ConversationsModule.register(config), DeliveryModule.register(config), DomainsModule],
      controllers: config.runsApi ? [EscalationsController, FileLinksController] : [],
      providers: [...services, ...(config.runsWorker ? [EscalationRetention] : [])],
      exports: [EscalationsRepository, EscalationContexts, EscalationRecorder, EscalationLifecycle, RelayDrainer, EscalationsService, EscalationPolicyResolver, SwitchboardHooksRegistry, FileLinks],
    }));
  }
}
