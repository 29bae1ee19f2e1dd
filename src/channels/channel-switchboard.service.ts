import { Injectable, OnModuleInit } from '@nestjs/common';
import type { UserActivity } from '@app/gateway-sdk';
import { EVERY_DOMAIN } from '../auth/domain-scope';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { DomainsService } from '../domains/domains.service';
import { EscalationsService } from '../escalations/escalations.service';
import { StoredEscalationEvents, SwitchboardHooks, SwitchboardHooksRegistry } from '../escalations/switchboard-hooks';
import { ChannelConversationsRepository } from './channel-conversations.repository';
import { ChannelOutbox } from './channel-outbox.service';

/** A user activity just stored in a channel conversation, which may go on to an open escalation. */
export interface UserActivityToRelay {
  conversationId: string;
  key: string;
  activity: UserActivity;
}

/** Agent events that reach the channel's user. */
const FOR_THE_USER = new Set(['agent_message', 'attachment', 'agent_typing_started']);

/**
 * The channel side of the switchboard. While a channel conversation has an open escalation, the user's messages and
 * typing are relayed to it (the escalations' relay, in order, once per activity); the agent's messages, typing and
 * files go to the channel as outbound messages (author `agent`) when the domain's `agent_messages` is `channel`. With
 * `bot` they reach only the bot, as events (as they always do), and the bot sends them. Registered with escalations
 * as its hooks, since escalations may not import channels.
 */
@Injectable()
export class ChannelSwitchboard implements SwitchboardHooks, OnModuleInit {
  private readonly log: ComponentLogger;

  constructor(
    private readonly hooks: SwitchboardHooksRegistry,
    private readonly escalations: EscalationsService,
    private readonly channels: ChannelConversationsRepository,
    private readonly outbox: ChannelOutbox,
    private readonly domains: DomainsService,
    logger: AppLogger,
  ) {
    this.log = logger.child('switchboard');
  }

  onModuleInit(): void {
    this.hooks.use(this);
  }

  /** Relays the user's stored messages and typing to the conversation's open escalation, if any. */
  async relayUserActivities(items: UserActivityToRelay[]): Promise<void> {
    const open = new Map<string, string | null>();
    for (const { conversationId, key, activity } of items) {
      if (!open.has(conversationId)) open.set(conversationId, await this.escalations.openEscalationOf(conversationId));
      const escalationId = open.get(conversationId);
      if (!escalationId) continue;
      try {
        if (activity.type === 'typing') {
          await this.escalations.typing(escalationId, 'started', EVERY_DOMAIN);
          continue;
        }
        const files = (activity.attachments ?? []).filter((a) => a.content === undefined && a.url);
        const cards = (activity.attachments ?? []).filter((a) => a.content !== undefined);
        const text = activity.text ?? (activity.value !== undefined ? JSON.stringify(activity.value) : undefined);
        if (!text && !files.length && !cards.length) continue;
        await this.escalations.relayMessage(
          escalationId,
          {
            author: 'user',
            // The stored event's key: a relay repeated after a failure is accepted once.
            clientMessageId: `channel:${key}`.slice(0, 200),
            text,
            attachments: files.length ? files.map((f) => ({ name: f.name ?? 'file', mimeType: f.contentType, url: f.url })) : undefined,
            cards: cards.length ? cards.map((c) => ({ contentType: c.contentType, content: c.content as Record<string, unknown> })) : undefined,
          },
          EVERY_DOMAIN,
        );
      } catch (error) {
        // The event is stored and delivered to the bot; the escalation may have ended meanwhile.
        this.log.warn('user activity not relayed to the escalation', { conversationId, escalationId, error: (error as Error).message });
      }
    }
  }

  async escalationEventsStored(stored: StoredEscalationEvents[]): Promise<void> {
    const relevant = stored.filter((s) => s.events.some((e) => FOR_THE_USER.has(e.type)));
    if (!relevant.length) return;
    const channelIds = await this.channels.channelIds([...new Set(relevant.map((s) => s.conversationId))]);
    for (const item of relevant) {
      if (!channelIds.has(item.conversationId)) continue;
      if ((await this.domains.agentMessagesOf(item.domainId)) !== 'channel') continue;
      for (const event of item.events) {
        if (!FOR_THE_USER.has(event.type)) continue;
        try {
          await this.toChannel(item.conversationId, event);
        } catch (error) {
          this.log.warn('agent event not sent to the channel', { conversationId: item.conversationId, seq: event.seq, error: (error as Error).message });
        }
      }
    }
  }

  private async toChannel(conversationId: string, event: StoredEscalationEvents['events'][number]): Promise<void> {
    const agent = event.data.agent as { displayName?: string | null } | undefined;
    const authorName = agent?.displayName ?? undefined;
    if (event.type === 'agent_typing_started') {
      await this.outbox.typing(conversationId, 'agent', EVERY_DOMAIN, authorName).catch(() => undefined);
      return;
    }
    // Keyed by the event's sequence number: an ingest's hooks run again (a retried job) store the message once.
    const key = `agent-event:${event.seq}`;
    if (event.type === 'attachment') {
      const file = event.data.attachment as { name: string; mimeType: string; url: string };
      await this.outbox.message(conversationId, { author: 'agent', authorName, attachments: [{ url: file.url, contentType: file.mimeType, name: file.name }] }, key, EVERY_DOMAIN);
      return;
    }
    const cards = event.data.cards as { contentType: string; content: Record<string, unknown> }[] | undefined;
    await this.outbox.message(conversationId, { author: 'agent', authorName, text: event.data.text as string | undefined, cards }, key, EVERY_DOMAIN);
  }
}
