import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { DomainsModule } from '../domains/domains.module';
import { ConversationsController } from './conversations.controller';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsVacuum } from './conversations-vacuum.service';
import { EventStreamService } from './event-stream.service';

/**
 * The conversation core: a conversation, who controls it, its events in sequence (stored once each), their replay
 * and the live stream. Escalations (and channels) write to it through `ConversationsRepository`.
 */
@Module({})
export class ConversationsModule {
  static register(config: AppConfig): DynamicModule {
    return modulePerConfig(config, ConversationsModule, () => ({
      module: ConversationsModule,
      imports: [AuthModule, DomainsModule],
      controllers: config.runsApi ? [ConversationsController] : [],
      providers: [ConversationsRepository, EventStreamService, ...(config.runsWorker ? [ConversationsVacuum] : [])],
      exports: [ConversationsRepository],
    }));
  }
}
