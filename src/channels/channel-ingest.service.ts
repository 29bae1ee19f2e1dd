import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { UserActivity } from '@app/gateway-sdk';
import { DomainError } from '../common/domain-error';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { ChannelConversationsRepository } from './channel-conversations.repository';
import { ChannelEventStore } from './channel-event-store';
import { advances, ChannelEventInput, eventOfActivity, statusEvent } from './channel-events';
import { ChannelSwitchboard, UserActivityToRelay } from './channel-switchboard.service';

/** What `receive` did with one activity. */
export interface ReceivedActivity {
  conversationId: string;
  /** Stored before (a repeated delivery), or a receipt that changed nothing. */
  duplicate: boolean;
}

/**
 * User activities of channel gateways, however they arrived (a webhook, a hosted channel's own API): the first one
 * of a platform conversation creates the conversation (owned by the gateway's domain, the bot in control), each is
 * stored once as an event of it, receipts move outbound messages' statuses on. Resolves once committed; delivery to
 * the bot and the switchboard's relay to an open escalation follow.
 */
@Injectable()
export class ChannelIngestService {
  constructor(
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
    private readonly channels: ChannelConversationsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly events: ChannelEventStore,
    private readonly switchboard: ChannelSwitchboard,
  ) {}

  async receive(gatewayId: string, activities: UserActivity[]): Promise<ReceivedActivity[]> {
    const [gateway] = await this.gateways.findMany([gatewayId]);
    if (!gateway || !this.registry.findChannel(gateway.type)) throw DomainError.notFound('Channel gateway', gatewayId);
    // One transaction per platform conversation, in the order each was first named; the answer in the input's order.
    const groups = new Map<string, number[]>();
    for (const [i, activity] of activities.entries()) {
      if (!activity.platformConversationId) throw DomainError.validation([{ field: `activities[${i}].platformConversationId`, message: 'is required' }]);
      if (!activity.platformActivityId) throw DomainError.validation([{ field: `activities[${i}].platformActivityId`, message: 'is required' }]);
      const group = groups.get(activity.platformConversationId) ?? [];
      group.push(i);
      groups.set(activity.platformConversationId, group);
    }
    const results: ReceivedActivity[] = new Array(activities.length);
    const domains = new Set<string>();
    const relays: UserActivityToRelay[] = [];
    for (const [platformConversationId, indexes] of groups) {
      const group = indexes.map((i) => activities[i]);
      const outcome = await this.channels.transaction(async (em) => {
        await this.channels.lockPlatformConversation(em, gatewayId, platformConversationId);
        let conversationId = await this.channels.findByPlatform(em, gatewayId, platformConversationId);
        const created = conversationId === null;
        const last = group[group.length - 1];
        if (!conversationId) {
          conversationId = randomUUID();
          await this.conversations.createForChannel(em, { id: conversationId, domainId: gateway.domainId, channel: gateway.type, channelGatewayId: gatewayId });
          await this.channels.create(em, { id: conversationId, gatewayId, platformConversationId, user: last.user, reference: group.findLast((a) => a.reference)?.reference ?? null });
        }
        // The conversation's row before its channel row, as the escalation ingest takes them when it stores an
        // agent's message for the channel: the other order could deadlock with it.
        const locked = await this.events.lock(em, conversationId);
        if (!created) await this.channels.refresh(em, conversationId, last.user, group.findLast((a) => a.reference)?.reference);
        const toStore: ChannelEventInput[] = [];
        // The bot learns of a new conversation first, whatever its first activity was.
        if (created && group[0].type !== 'conversation_started') {
          toStore.push({ type: 'conversation_started', key: 'svc:started', occurredAt: group[0].occurredAt, data: { user: { id: group[0].user.id, ...(group[0].user.name ? { name: group[0].user.name } : {}) } } });
        }
        const keys: (string | null)[] = [];
        for (const activity of group) {
          if (activity.type === 'receipt') {
            const event = activity.receipt ? await this.receipt(em, gatewayId, activity) : null;
            if (event) toStore.push(event);
            keys.push(event?.key ?? null);
            continue;
          }
          const event = eventOfActivity(activity)!;
          toStore.push(event);
          keys.push(event.key);
        }
        // The bot is told where a new conversation comes from (the gateway, its type, the platform's id).
        for (const event of toStore) if (event.type === 'conversation_started') Object.assign(event.data, { gatewayId, channel: gateway.type, platformConversationId });
        const stored = await this.events.store(em, locked, toStore);
        return { conversationId, domainId: locked.domainId, stored, keys, toStore };
      });
      if (outcome.stored.size) domains.add(outcome.domainId);
      for (const [j, i] of indexes.entries()) {
        const key = outcome.keys[j];
        results[i] = { conversationId: outcome.conversationId, duplicate: key === null || !outcome.stored.has(key) };
        const activity = activities[i];
        if (key && outcome.stored.has(key) && (activity.type === 'message' || activity.type === 'typing')) relays.push({ conversationId: outcome.conversationId, key, activity });
      }
    }
    for (const domainId of domains) await this.events.delivered(domainId);
    if (relays.length) await this.switchboard.relayUserActivities(relays);
    return results;
  }

  /** A receipt moves its message's status on (never back); the status change is an event for the bot. */
  private async receipt(em: Parameters<Parameters<ChannelConversationsRepository['transaction']>[0]>[0], gatewayId: string, activity: UserActivity): Promise<ChannelEventInput | null> {
    const receipt = activity.receipt!;
    const message = await this.channels.lockByPlatformId(em, gatewayId, receipt.platformMessageId);
    if (!message || !advances(message.status, receipt.status)) return null;
    await this.channels.setStatus(em, message.id, receipt.status, receipt.reason ?? null, receipt.detail ?? null);
    return statusEvent(message, receipt.status, { reason: receipt.reason, detail: receipt.detail });
  }
}
