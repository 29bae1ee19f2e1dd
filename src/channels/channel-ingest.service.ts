import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ChannelUser, UserActivity } from '@app/gateway-sdk';
import { TtlCache } from '../common/ttl-cache';
import { DomainError } from '../common/domain-error';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { ChannelConversationsRepository } from './channel-conversations.repository';
import { ChannelEventStore, LockedConversation } from './channel-event-store';
import { advances, ChannelEventInput, eventOfActivity, marksUnreachable, statusEvent } from './channel-events';
import { ChannelSwitchboard, UserActivityToRelay } from './channel-switchboard.service';

const GATEWAY_CACHE_MS = 5_000;

/** The user as stored on the conversation (what the channel told of them, nothing else). */
function userOf(user: ChannelUser): ChannelUser {
  return { id: user.id, ...(user.name ? { name: user.name } : {}), ...(user.locale ? { locale: user.locale } : {}) };
}

/** Equal as JSON values, whatever the order of their keys (PostgreSQL's jsonb keeps its own order). */
function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Whether the user can be written to first after each of these activities (null: yes; else why not; undefined: not
 * known yet, a new conversation): a reachability activity says so, and a user who writes or types is reachable again
 * (a Teams user who blocked the bot and writes again), unless they opted out: that takes their opting back in (START).
 */
function reachabilitySteps(activities: UserActivity[], before: string | null | undefined): (string | null | undefined)[] {
  let reason = before;
  return activities.map((activity) => {
    if (activity.type === 'reachability') reason = activity.reachability?.reachable === false ? (activity.reachability.reason ?? 'unknown') : null;
    // Writing undoes a block or an uninstall, not an opt-out: STOP is itself a message, START says it.
    else if ((activity.type === 'message' || activity.type === 'typing') && reason !== 'opted_out') reason = null;
    return reason;
  });
}

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
  private readonly gatewayCache = new TtlCache<{ domainId: string; type: string; serviceWindow: boolean } | undefined>(GATEWAY_CACHE_MS);

  constructor(
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
    private readonly channels: ChannelConversationsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly events: ChannelEventStore,
    private readonly switchboard: ChannelSwitchboard,
  ) {}

  async receive(gatewayId: string, activities: UserActivity[]): Promise<ReceivedActivity[]> {
    const gateway = await this.gatewayOf(gatewayId);
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
    const relays: UserActivityToRelay[] = [];
    for (const [platformConversationId, indexes] of groups) {
      const group = indexes.map((i) => activities[i]);
      const outcome = await this.channels.transaction(async (em) => {
        const last = group[group.length - 1];
        const reference = group.findLast((a) => a.reference)?.reference;
        // The usual case, an existing conversation: found and locked in one statement. The first activities of a new
        // one are serialized by an advisory lock (two deliveries at once must not create it twice).
        let existing = await this.channels.lockByPlatform(em, gatewayId, platformConversationId);
        if (!existing) {
          await this.channels.lockPlatformConversation(em, gatewayId, platformConversationId);
          existing = await this.channels.lockByPlatform(em, gatewayId, platformConversationId);
        }
        const created = existing === null;
        let locked: LockedConversation;
        const knownBefore = existing ? existing.unreachableReason : undefined;
        const steps = reachabilitySteps(group, knownBefore);
        const reachability = steps[steps.length - 1] ?? null;
        // A user's opt-out (SMS STOP) is the gateway's, whatever conversation it came in: kept on its list, which
        // an operator reads and edits too; opting back in (START) takes them off it.
        for (const activity of group) {
          if (activity.type !== 'reachability') continue;
          if (activity.reachability?.reachable === false && activity.reachability.reason === 'opted_out') {
            await this.channels.optOut(em, { gatewayId, userId: activity.user.id, source: 'user', note: 'the user opted out on the channel' });
          } else if (activity.reachability?.reachable !== false) await this.channels.optIn(em, gatewayId, activity.user.id);
        }
        if (existing) {
          const { user, reference: stored, unreachableReason, ...conversation } = existing;
          if (reachability !== unreachableReason) await this.channels.setReachability(em, conversation.id, reachability);
          locked = conversation;
          // Latest wins, written only when it changed: most activities carry what is stored already.
          if (!sameJson(user, userOf(last.user)) || (reference !== undefined && !sameJson(stored, reference))) {
            await this.channels.refresh(em, locked.id, userOf(last.user), reference);
          }
        } else {
          const id = randomUUID();
          await this.conversations.createForChannel(em, { id, domainId: gateway.domainId, channel: gateway.type, channelGatewayId: gatewayId });
          await this.channels.create(em, { id, gatewayId, platformConversationId, user: userOf(last.user), reference: reference ?? null });
          if (reachability !== null) await this.channels.setReachability(em, id, reachability);
          locked = await this.events.lock(em, id);
        }
        const conversationId = locked.id;
        // The service window (WhatsApp's 24 hours) runs from the user's last message.
        const wrote = group.findLast((a) => a.type === 'message');
        if (wrote && gateway.serviceWindow) await this.channels.touchUserMessage(em, conversationId, wrote.occurredAt);
        const toStore: ChannelEventInput[] = [];
        // The bot learns of a new conversation first, whatever its first activity was.
        if (created && group[0].type !== 'conversation_started') {
          toStore.push({ type: 'conversation_started', key: 'svc:started', occurredAt: group[0].occurredAt, data: { user: { id: group[0].user.id, ...(group[0].user.name ? { name: group[0].user.name } : {}) } } });
        }
        const keys: (string | null)[] = [];
        for (const [j, activity] of group.entries()) {
          // A reachability activity that changes nothing is no event (a Teams install says "added" twice).
          if (activity.type === 'reachability' && steps[j] === (j === 0 ? knownBefore : steps[j - 1])) {
            keys.push(null);
            continue;
          }
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
        return { conversationId, stored, keys };
      });
      // At once, per transaction: a later group's failure must not leave this one's claim to expire unsent.
      await this.events.afterCommit([outcome.stored]);
      for (const [j, i] of indexes.entries()) {
        const key = outcome.keys[j];
        results[i] = { conversationId: outcome.conversationId, duplicate: key === null || !outcome.stored.stored.has(key) };
        const activity = activities[i];
        if (key && outcome.stored.stored.has(key) && (activity.type === 'message' || activity.type === 'typing')) relays.push({ conversationId: outcome.conversationId, key, activity });
      }
    }
    if (relays.length) await this.switchboard.relayUserActivities(relays);
    return results;
  }

  /**
   * The gateway's domain and type, read at most once per few seconds: every user activity needs them, and they
   * change only when an operator moves a gateway (then within GATEWAY_CACHE_MS).
   */
  private gatewayOf(gatewayId: string): Promise<{ domainId: string; type: string; serviceWindow: boolean } | undefined> {
    return this.gatewayCache.get(gatewayId, async () => {
      const [gateway] = await this.gateways.findMany([gatewayId]);
      if (!gateway) return undefined;
      const capabilities = this.registry.findChannel(gateway.type)?.gateway.definition.capabilities ?? [];
      return { domainId: gateway.domainId, type: gateway.type, serviceWindow: capabilities.includes('service-window') };
    });
  }

  /** A receipt moves its message's status on (never back); the status change is an event for the bot. */
  private async receipt(em: Parameters<Parameters<ChannelConversationsRepository['transaction']>[0]>[0], gatewayId: string, activity: UserActivity): Promise<ChannelEventInput | null> {
    const receipt = activity.receipt!;
    const message = await this.channels.lockByPlatformId(em, gatewayId, receipt.platformMessageId);
    if (!message) {
      // Before its send settled (the platform's status webhook overtook the send's answer): the send applies it.
      await this.channels.keepEarlyReceipt(em, gatewayId, receipt);
      return null;
    }
    if (!advances(message.status, receipt.status)) return null;
    await this.channels.setStatus(em, message.id, receipt.status, receipt.reason ?? null, receipt.detail ?? null);
    // A late failure (WhatsApp's status webhook) says what a refused send would have: the user cannot be reached.
    if (receipt.status === 'failed' && marksUnreachable(receipt.reason)) await this.channels.setReachability(em, message.conversationId, receipt.reason);
    return statusEvent(message, receipt.status, { reason: receipt.reason, detail: receipt.detail });
  }
}
