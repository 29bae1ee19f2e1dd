import { DynamicModule, Module } from '@nestjs/common';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { ConversationsModule } from '../conversations/conversations.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { DomainsModule } from '../domains/domains.module';
import { EscalationsModule } from '../escalations/escalations.module';
import { ChannelContentPolicy } from './channel-content.policy';
import { ChannelContexts } from './channel-contexts.service';
import { ChannelConversationsRepository } from './channel-conversations.repository';
import { ChannelEventStore } from './channel-event-store';
import { ChannelIngestService } from './channel-ingest.service';
import { ChannelMessagesController } from './channel-messages.controller';
import { ChannelOutbox } from './channel-outbox.service';
import { ChannelSender } from './channel-sender.service';
import { ChannelSwitchboard } from './channel-switchboard.service';
import { HostedChannelRegistry } from './hosted-channel.registry';
import { OptOutsController } from './opt-outs.controller';
import { ProactiveController } from './proactive.controller';
import { ProactiveService } from './proactive.service';

/**
 * Channel conversations: user activities in (stored once, delivered to the bot), outbound messages out (stored, sent
 * in order with their status), and the channel side of the switchboard. Hosted channels (web chat) register with
 * `HostedChannelRegistry`; webhooks of channel gateways reach `ChannelIngestService` through inbound.
 */
@Module({})
export class ChannelsModule {
  static register(config: AppConfig): DynamicModule {
    return modulePerConfig(config, ChannelsModule, () => ({
      module: ChannelsModule,
      imports: [ConversationsModule.register(config), DeliveryModule.register(config), DomainsModule, EscalationsModule.register(config)],
      controllers: config.runsApi ? [ChannelMessagesController, ProactiveController, OptOutsController] : [],
      providers: [ChannelContentPolicy, ChannelConversationsRepository, ChannelEventStore, ChannelContexts, ChannelOutbox, ChannelSwitchboard, ChannelIngestService, ChannelSender, HostedChannelRegistry, ProactiveService],
      exports: [ChannelIngestService, HostedChannelRegistry, ChannelOutbox, ChannelSender],
    }));
  }
}
