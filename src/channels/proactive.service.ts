import { Injectable } from '@nestjs/common';
import { DomainScope, inScope } from '../auth/domain-scope';
import { TtlCache } from '../common/ttl-cache';
import { DomainError, DomainErrorCode, DOMAIN_ERROR_STATUS } from '../common/domain-error';
import { OutboundMessageEntity } from '../database/entities';
import { requestHash } from '../escalations/escalations.service';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { ChannelConversationsRepository } from './channel-conversations.repository';
import { ChannelEventStore, StoredChannelEvents } from './channel-event-store';
import { ChannelOutbox, OutboundRequest } from './channel-outbox.service';

const GATEWAY_CACHE_MS = 5_000;

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
}

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
  private readonly gatewayCache = new TtlCache<{ id: string; domainId: string; type: string } | undefined>(GATEWAY_CACHE_MS);

  constructor(
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
    private readonly channels: ChannelConversationsRepository,
    private readonly outbox: ChannelOutbox,
    private readonly events: ChannelEventStore,
    private readonly jobs: JobDispatcher,
  ) {}

  async send(kind: ProactiveKind, request: ProactiveRequest, idempotencyKey: string | null, scope: DomainScope): Promise<ProactiveOutcome> {
    const gateway = await this.gatewayOf(request.gatewayId, scope);
    const registered = this.registry.findChannel(gateway.type);
    const capabilities = registered?.gateway.definition.capabilities ?? [];
    if (!capabilities.includes('proactive')) {
      throw new DomainError('proactive_unsupported', `Gateway ${gateway.id} (type '${gateway.type}') cannot write to a user first: its channel type lacks the capability 'proactive'`, [
        { field: 'gatewayId', message: `type '${gateway.type}' is not proactive` },
      ]);
    }
    const activity = { ...this.outbox.compose({ ...request.message, author: 'bot' }, capabilities), proactive: true };
    const hash = requestHash({ kind, ...request });
    let target: { id: string };
    try {
      target = await this.resolve(request, gateway.id);
    } catch (error) {
      // A repeated request whose user has become unreachable since: the first answer again, not the refusal.
      const replayed = idempotencyKey && error instanceof DomainError ? await this.replay(kind, gateway.domainId, idempotencyKey, hash) : null;
      if (replayed) return replayed;
      throw error;
    }
    const outcome = await this.channels.transaction(async (em) => {
      if (idempotencyKey) {
        await this.channels.lockProactiveKey(em, gateway.domainId, idempotencyKey);
        const earlier = await this.replayIn(em, kind, gateway.domainId, idempotencyKey, hash);
        if (earlier) return { replay: earlier, message: null, stored: null };
      }
      const locked = await this.events.lock(em, target.id);
      if (kind === 'conversation' && locked.control === 'agent') {
        throw new DomainError('control_conflict', 'An agent controls this conversation: a conversation cannot be pushed to the user until the escalation ends');
      }
      const message = await this.channels.addMessage(em, {
        conversationId: target.id,
        gatewayId: gateway.id,
        kind: 'message',
        author: 'bot',
        authorName: null,
        activity: activity as unknown as Record<string, unknown>,
        idempotencyKey: null,
        requestHash: null,
      });
      if (idempotencyKey) await this.channels.addProactive(em, { domainId: gateway.domainId, key: idempotencyKey, kind, requestHash: hash, conversationId: target.id, messageId: message.id });
      let stored: StoredChannelEvents | null = null;
      if (kind === 'conversation') {
        const conversation = (await this.channels.get(target.id))!;
        stored = await this.events.store(em, locked, [
          {
            type: 'conversation_started',
            key: `svc:pushed:${message.id}`,
            occurredAt: new Date(),
            data: {
              user: conversation.user,
              gatewayId: gateway.id,
              channel: gateway.type,
              platformConversationId: conversation.platformConversationId,
              origin: 'proactive',
              messageId: message.id,
              ...(request.context ? { context: request.context } : {}),
            },
          },
        ]);
      }
      return { replay: null, message, stored };
    });
    if (outcome.replay) return outcome.replay;
    if (outcome.stored) await this.events.afterCommit([outcome.stored]);
    await this.jobs.channelSend(target.id);
    return { kind, conversationId: target.id, message: outcome.message!, created: true };
  }

  /**
   * The gateway's domain and type, read at most once per few seconds (a fan-out names the same gateway each time);
   * outside `scope` it is the same 404 as a gateway that does not exist.
   */
  private async gatewayOf(id: string, scope: DomainScope): Promise<{ id: string; domainId: string; type: string }> {
    const gateway = await this.gatewayCache.get(id, async () => {
      const [found] = await this.gateways.findMany([id]);
      return found ? { id: found.id, domainId: found.domainId, type: found.type } : undefined;
    });
    if (!gateway || !inScope(scope, gateway.domainId)) throw DomainError.notFound('Gateway', id);
    return gateway;
  }

  /** The conversation to write to, or why not (422 with the channel's reason, which the bot can act on). */
  private async resolve(request: ProactiveRequest, gatewayId: string): Promise<{ id: string }> {
    const { userId, conversationId } = request.recipient;
    const target = conversationId ? await this.channels.reachability(conversationId) : await this.channels.recipient(gatewayId, userId!);
    if (!target || ('gatewayId' in target && target.gatewayId !== gatewayId)) {
      const field = conversationId ? 'recipient.conversationId' : 'recipient.userId';
      throw new DomainError('not_installed', `No conversation with this user on gateway ${gatewayId}: the user has not installed the app or written to it yet`, [
        { field, message: 'no conversation with this user on this gateway' },
      ]);
    }
    const reason = target.unreachableReason;
    if (reason && reason in DOMAIN_ERROR_STATUS && DOMAIN_ERROR_STATUS[reason as DomainErrorCode] === 422) {
      throw new DomainError(reason as DomainErrorCode, `The user cannot be written to first: ${reason.replace(/_/g, ' ')} (as the channel last said)`, [
        { field: conversationId ? 'recipient.conversationId' : 'recipient.userId', message: reason },
      ]);
    }
    return target;
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
