import { Injectable, OnModuleInit } from '@nestjs/common';
import type { OutboundActivity, UserActivity } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { EVERY_DOMAIN } from '../auth/domain-scope';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { DomainsService } from '../domains/domains.service';
import { EscalationsService } from '../escalations/escalations.service';
import { FileLinks } from '../escalations/file-links';
import { AfterCommit, StoredEscalationEvents, SwitchboardHooks, SwitchboardHooksRegistry } from '../escalations/switchboard-hooks';
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
    private readonly outbox: ChannelOutbox,
    private readonly domains: DomainsService,
    private readonly links: FileLinks,
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

  /**
   * In the escalation ingest's transaction: the agent's messages, typing and files become outbound messages that
   * commit with their events (a process that dies after the commit loses none); after the commit only the senders
   * are woken, and a lost wake-up is redone by the reconcile pass (conversations with messages still `accepted`).
   */
  async escalationEventsStoring(em: EntityManager, stored: StoredEscalationEvents[]): Promise<AfterCommit | null> {
    const wake = new Set<string>();
    const agentMessages = new Map<string, 'channel' | 'bot'>();
    for (const item of stored) {
      const events = item.events.filter((e) => FOR_THE_USER.has(e.type));
      if (!events.length) continue;
      if (!agentMessages.has(item.domainId)) agentMessages.set(item.domainId, await this.domains.agentMessagesOf(item.domainId));
      if (agentMessages.get(item.domainId) !== 'channel') continue;
      for (const event of events) {
        // Keyed by the event's sequence number, as the bot would key a relay of it.
        if (await this.outbox.agentActivityIn(em, item.conversationId, this.activityOf(item.escalationId, event), event.type === 'agent_typing_started' ? null : `agent-event:${event.seq}`)) {
          wake.add(item.conversationId);
        }
      }
    }
    if (!wake.size) return null;
    return async () => {
      for (const conversationId of wake) {
        await this.outbox.wake(conversationId).catch((error) => this.log.warn('channel sender not woken; the reconcile pass will', { conversationId, error: (error as Error).message }));
      }
    };
  }

  private activityOf(escalationId: string, event: StoredEscalationEvents['events'][number]): OutboundActivity {
    const agent = event.data.agent as { displayName?: string | null } | undefined;
    const author = { author: 'agent' as const, ...(agent?.displayName ? { authorName: agent.displayName } : {}) };
    if (event.type === 'agent_typing_started') return { type: 'typing', ...author };
    if (event.type === 'attachment') {
      const file = event.data.attachment as { id: string; name: string; mimeType: string };
      // The user has no API key: a signed link to this one file, expiring.
      return { type: 'message', ...author, attachments: [{ url: this.links.url(escalationId, file.id), contentType: file.mimeType, name: file.name }] };
    }
    const cards = (event.data.cards as { contentType: string; content: Record<string, unknown> }[] | undefined) ?? [];
    const text = event.data.text as string | undefined;
    return { type: 'message', ...author, ...(text ? { text } : {}), ...(cards.length ? { attachments: cards.map((c) => ({ contentType: c.contentType, content: c.content })) } : {}) };
  }
}
