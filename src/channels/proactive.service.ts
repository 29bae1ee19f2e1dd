import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ChannelGateway, ChannelUser, OutboundActivity, toGatewayError } from '@app/gateway-sdk';
import { DomainScope, inScope } from '../auth/domain-scope';
import { DomainError, DomainErrorCode, DOMAIN_ERROR_STATUS } from '../common/domain-error';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GatewayEntity, OutboundMessageEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { requestHash } from '../escalations/escalations.service';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { ChannelContentPolicy } from './channel-content.policy';
import { ChannelContexts } from './channel-contexts.service';
import { ChannelConversationsRepository, Reachability } from './channel-conversations.repository';
import { ChannelEventStore, StoredChannelEvents } from './channel-event-store';
import { ChannelEventInput } from './channel-events';
import { ChannelOutbox, hasContent, OutboundRequest } from './channel-outbox.service';

export type ProactiveKind = 'notification' | 'conversation';

/** A proactive request: who, on which channel gateway, what; for a pushed conversation, what the bot handed over. */
export interface ProactiveRequest {
  gatewayId: string;
  recipient: { userId?: string; conversationId?: string };
  message: Omit<OutboundRequest, 'author' | 'authorName'>;
  context?: Record<string, unknown>;
}

export interface ProactiveOutcome {
  kind: ProactiveKind;
  conversationId: string;
  message: OutboundMessageEntity;
  /** False when an Idempotency-Key replayed an earlier request. */
  created: boolean;
  /** Held until then: stored in the gateway's quiet hours. */
  notBefore?: Date | null;
}

/** A user the channel reaches by id alone, and the conversation that would be theirs. */
type NewAddress = ReturnType<NonNullable<ChannelGateway['addressOf']>>;

const ADDRESS_TIMEOUT_MS = 10_000;

const recipientField = (request: ProactiveRequest) => (request.recipient.conversationId ? 'recipient.conversationId' : 'recipient.userId');

/**
 * The service writes first: a notification (one message to a user the channel can reach) or a pushed conversation
 * (its opening message; the bot owns the conversation and the user's answer reaches it as an event of it). Both go
 * to the channel's conversation with the user (Teams, SMS and WhatsApp keep one per user), are refused up front with
 * 422 and the channel's reason when the service already knows the user cannot be reached, and are then outbound
 * messages like any other: stored, sent in order (a throttled send waits as the platform asks), their outcome a
 * `message_status` event marked `proactive`.
 */
@Injectable()
export class ProactiveService {
  constructor(
    private readonly channelContexts: ChannelContexts,
    private readonly registry: GatewayRegistry,
    private readonly channels: ChannelConversationsRepository,
    private readonly outbox: ChannelOutbox,
    private readonly events: ChannelEventStore,
    private readonly jobs: JobDispatcher,
    private readonly content: ChannelContentPolicy,
    private readonly contexts: GatewayContextFactory,
    private readonly conversations: ConversationsRepository,
  ) {}

  async send(kind: ProactiveKind, request: ProactiveRequest, idempotencyKey: string | null, scope: DomainScope): Promise<ProactiveOutcome> {
    const gateway = await this.gatewayOf(request.gatewayId, scope);
    const channel = this.registry.findChannel(gateway.type)?.gateway;
    const capabilities = channel?.definition.capabilities ?? [];
    if (!channel || !capabilities.includes('proactive')) {
      throw new DomainError('proactive_unsupported', `Gateway ${gateway.id} (type '${gateway.type}') cannot write to a user first: its channel type lacks the capability 'proactive'`, [
        { field: 'gatewayId', message: `type '${gateway.type}' is not proactive` },
      ]);
    }
    const activity: OutboundActivity = { ...this.outbox.compose({ ...request.message, author: 'bot' }, capabilities), proactive: true };
    const hash = requestHash({ kind, ...request });
    let target: Reachability | null;
    let address: NewAddress | null = null;
    try {
      ({ target, address } = await this.resolve(request, gateway, channel));
      const userId = target?.userId ?? address!.user.id;
      if (await this.channels.isOptedOut(gateway.id, userId)) {
        throw new DomainError('opted_out', 'The user is on this gateway\'s opt-out list (they opted out, or an operator put them there)', [{ field: recipientField(request), message: 'opted_out' }]);
      }
      const template = await this.content.templateFor(channel, gateway.id, target?.lastUserMessageAt ?? null, { template: request.message.template, hasContent: hasContent(request.message) });
      if (template) activity.template = template;
    } catch (error) {
      // A repeated request whose user has become unreachable since: the first answer again, not the refusal.
      const replayed = idempotencyKey && error instanceof DomainError ? await this.replay(kind, gateway.domainId, idempotencyKey, hash) : null;
      if (replayed) return replayed;
      throw error;
    }
    const notBefore = await this.content.notBefore(gateway.id);
    const outcome = await this.channels.transaction(async (em) => {
      if (idempotencyKey) {
        await this.channels.lockProactiveKey(em, gateway.domainId, idempotencyKey);
        const earlier = await this.replayIn(em, kind, gateway.domainId, idempotencyKey, hash);
        if (earlier) return { replay: earlier, message: null, stored: null, conversationId: earlier.conversationId };
      }
      const events: ChannelEventInput[] = [];
      const started = (conversation: { user: ChannelUser; platformConversationId: string }, messageId: string): ChannelEventInput => ({
        type: 'conversation_started',
        key: `svc:pushed:${messageId}`,
        occurredAt: new Date(),
        data: {
          user: conversation.user,
          gatewayId: gateway.id,
          channel: gateway.type,
          platformConversationId: conversation.platformConversationId,
          origin: 'proactive',
          messageId,
          ...(request.context ? { context: request.context } : {}),
        },
      });
      let conversationId = target?.id ?? null;
      let created: NewAddress | null = null;
      if (!conversationId) {
        // A user the channel reaches by id alone (an SMS or WhatsApp number): their conversation begins with this.
        conversationId = await this.conversationFor(em, gateway, address!);
        if (conversationId === null) created = address;
        conversationId ??= await this.createConversation(em, gateway, address!);
      }
      const locked = await this.events.lock(em, conversationId);
      if (kind === 'conversation' && locked.control === 'agent') {
        throw new DomainError('control_conflict', 'An agent controls this conversation: a conversation cannot be pushed to the user until the escalation ends');
      }
      const message = await this.channels.addMessage(em, {
        conversationId,
        gatewayId: gateway.id,
        kind: 'message',
        author: 'bot',
        authorName: null,
        activity: activity as unknown as Record<string, unknown>,
        idempotencyKey: null,
        requestHash: null,
        notBefore,
      });
      if (idempotencyKey) await this.channels.addProactive(em, { domainId: gateway.domainId, key: idempotencyKey, kind, requestHash: hash, conversationId, messageId: message.id });
      // The bot learns of the conversation it now owns; a new one starts with it (its first event, as always).
      if (kind === 'conversation' || created) {
        const conversation = created ?? (await this.channels.get(conversationId))!;
        events.push(started(conversation, message.id));
      }
      const stored: StoredChannelEvents | null = events.length ? await this.events.store(em, locked, events) : null;
      return { replay: null, message, stored, conversationId };
    });
    if (outcome.replay) return outcome.replay;
    if (outcome.stored) await this.events.afterCommit([outcome.stored]);
    await this.jobs.channelSend(outcome.conversationId);
    return { kind, conversationId: outcome.conversationId, message: outcome.message!, created: true, notBefore };
  }

  /** The existing conversation with a user reached by address, found under the lock that creating it takes. */
  private async conversationFor(em: EntityManager, gateway: GatewayEntity, address: NewAddress): Promise<string | null> {
    await this.channels.lockPlatformConversation(em, gateway.id, address.platformConversationId);
    return (await this.channels.lockByPlatform(em, gateway.id, address.platformConversationId))?.id ?? null;
  }

  private async createConversation(em: EntityManager, gateway: GatewayEntity, address: NewAddress): Promise<string> {
    const id = randomUUID();
    await this.conversations.createForChannel(em, { id, domainId: gateway.domainId, channel: gateway.type, channelGatewayId: gateway.id });
    await this.channels.create(em, { id, gatewayId: gateway.id, platformConversationId: address.platformConversationId, user: address.user, reference: address.reference ?? null });
    return id;
  }

  /**
   * The gateway's row, read at most once per few seconds (a fan-out names the same gateway each time); outside
   * `scope` it is the same 404 as a gateway that does not exist.
   */
  private async gatewayOf(id: string, scope: DomainScope): Promise<GatewayEntity> {
    const gateway = await this.channelContexts.entity(id);
    if (!gateway || !inScope(scope, gateway.domainId)) throw DomainError.notFound('Gateway', id);
    return gateway;
  }

  /**
   * The conversation to write to, or the address of a new one (channels that reach a user by id alone), or why not:
   * 422 with the channel's reason, which the bot can act on.
   */
  private async resolve(request: ProactiveRequest, gateway: GatewayEntity, channel: ChannelGateway): Promise<{ target: Reachability | null; address: NewAddress | null }> {
    const { userId, conversationId } = request.recipient;
    const field = recipientField(request);
    const target = conversationId ? await this.channels.reachability(conversationId) : await this.channels.recipient(gateway.id, userId!);
    if (!target || target.gatewayId !== gateway.id) {
      if (conversationId || !channel.addressOf) {
        throw new DomainError('not_installed', `No conversation with this user on gateway ${gateway.id}: the user has not installed the app or written to it yet`, [
          { field, message: 'no conversation with this user on this gateway' },
        ]);
      }
      try {
        return { target: null, address: channel.addressOf(this.contexts.create(gateway, ADDRESS_TIMEOUT_MS), userId!) };
      } catch (error) {
        const refused = toGatewayError(error);
        const code = refused.unreachableReason === 'not_installed' ? 'not_installed' : 'invalid_recipient';
        throw new DomainError(code, `The channel cannot reach '${userId}': ${refused.message}`, [{ field, message: code }]);
      }
    }
    const reason = target.unreachableReason;
    if (reason && reason in DOMAIN_ERROR_STATUS && DOMAIN_ERROR_STATUS[reason as DomainErrorCode] === 422) {
      throw new DomainError(reason as DomainErrorCode, `The user cannot be written to first: ${reason.replace(/_/g, ' ')} (as the channel last said)`, [{ field, message: reason }]);
    }
    return { target, address: null };
  }

  private async replay(kind: ProactiveKind, domainId: string, key: string, hash: string): Promise<ProactiveOutcome | null> {
    return this.channels.transaction((em) => this.replayIn(em, kind, domainId, key, hash));
  }

  private async replayIn(em: Parameters<Parameters<ChannelConversationsRepository['transaction']>[0]>[0], kind: ProactiveKind, domainId: string, key: string, hash: string): Promise<ProactiveOutcome | null> {
    const earlier = await this.channels.proactiveByKey(em, domainId, key);
    if (!earlier) return null;
    if (earlier.kind !== kind || earlier.requestHash !== hash) throw new DomainError('idempotency_conflict', 'This Idempotency-Key was used with a different request');
    const message = await this.channels.message(earlier.conversationId, earlier.messageId);
    return { kind, conversationId: earlier.conversationId, message: message!, created: false };
  }
}
