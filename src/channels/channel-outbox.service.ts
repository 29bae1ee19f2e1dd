import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { ChannelGateway, GatewayCapability, OutboundActivity, TemplateMessage } from '@app/gateway-sdk';
import { DomainScope } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { OutboundMessageEntity } from '../database/entities';
import { requestHash } from '../escalations/escalations.service';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { ChannelContentPolicy } from './channel-content.policy';
import { ChannelConversationsRepository } from './channel-conversations.repository';

/** A message for a channel's user, as the bot (or the switchboard, for an agent) asks for it. */
export interface OutboundRequest {
  author: 'bot' | 'agent';
  authorName?: string;
  text?: string;
  attachments?: { url: string; contentType: string; name?: string }[];
  cards?: { contentType: string; content: Record<string, unknown> }[];
  quickReplies?: { title: string; value?: string }[];
  template?: TemplateMessage;
}

/** Whether a request has free-form content (what a template stands in for outside the service window). */
export function hasContent(request: Pick<OutboundRequest, 'text' | 'attachments' | 'cards'>): boolean {
  return Boolean(request.text || request.attachments?.length || request.cards?.length);
}

/** Which capability each part of a message needs, and the field named when the channel type lacks it. */
const NEEDS: [keyof OutboundRequest, GatewayCapability, string][] = [
  ['attachments', 'attachments', 'files'],
  ['cards', 'adaptive-cards', 'cards'],
  ['quickReplies', 'quick-replies', 'quick replies'],
];

/**
 * Outbound messages are stored before they are sent: this stores one (in the conversation's outbound sequence, once
 * per Idempotency-Key) and wakes the conversation's sender. A bot's message is refused while an agent controls the
 * conversation; one relaying an agent (`author: agent`) is not.
 */
@Injectable()
export class ChannelOutbox {
  constructor(
    private readonly channels: ChannelConversationsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly registry: GatewayRegistry,
    private readonly jobs: JobDispatcher,
    private readonly content: ChannelContentPolicy,
  ) {}

  async message(conversationId: string, request: OutboundRequest, idempotencyKey: string | null, scope: DomainScope): Promise<{ message: OutboundMessageEntity; created: boolean }> {
    const { gatewayId, capabilities, gateway } = await this.channelOf(conversationId, scope);
    const activity = this.compose(request, capabilities);
    if (request.template || capabilities.includes('service-window')) {
      const reach = await this.channels.reachability(conversationId);
      const template = await this.content.templateFor(gateway, gatewayId, reach?.lastUserMessageAt ?? null, { template: request.template, hasContent: hasContent(request) });
      if (template) activity.template = template;
    }
    return this.store(conversationId, gatewayId, 'message', activity, idempotencyKey, idempotencyKey ? requestHash(request) : null);
  }

  /**
   * The activity a request asks for, refused (400, naming the field) when it is empty or asks for what the channel
   * type cannot show.
   */
  compose(request: OutboundRequest, capabilities: GatewayCapability[]): OutboundActivity {
    if (!hasContent(request) && !request.template) {
      throw DomainError.validation([{ field: 'text', message: 'a message needs text, attachments, cards or a template' }]);
    }
    for (const [field, capability, what] of NEEDS) {
      if ((request[field] as unknown[] | undefined)?.length && !capabilities.includes(capability)) {
        throw DomainError.validation([{ field, message: `this conversation's channel cannot show ${what} (it lacks the capability '${capability}')` }]);
      }
    }
    const activity: OutboundActivity = {
      type: 'message',
      author: request.author,
      ...(request.authorName ? { authorName: request.authorName } : {}),
      ...(request.text !== undefined ? { text: request.text } : {}),
      ...(request.attachments?.length || request.cards?.length
        ? { attachments: [...(request.attachments ?? []), ...(request.cards ?? []).map((card) => ({ contentType: card.contentType, content: card.content }))] }
        : {}),
      ...(request.quickReplies?.length ? { quickReplies: request.quickReplies } : {}),
    };
    return activity;
  }

  async typing(conversationId: string, author: 'bot' | 'agent', scope: DomainScope, authorName?: string): Promise<{ message: OutboundMessageEntity; created: boolean }> {
    const { gatewayId, capabilities } = await this.channelOf(conversationId, scope);
    // As the message route's capability refusals: the request asks for what this channel cannot do (400), not a
    // conflict with the conversation's state that may pass.
    if (!capabilities.includes('typing')) {
      throw DomainError.validation([{ field: 'typing', message: "this conversation's channel cannot show typing (it lacks the capability 'typing')" }]);
    }
    return this.store(conversationId, gatewayId, 'typing', { type: 'typing', author, ...(authorName ? { authorName } : {}) }, null, null);
  }

  async status(conversationId: string, messageId: string, scope: DomainScope): Promise<OutboundMessageEntity> {
    await this.conversations.get(conversationId, scope);
    const message = await this.channels.message(conversationId, messageId);
    if (!message) throw DomainError.notFound('Message', messageId);
    return message;
  }

  private async channelOf(conversationId: string, scope: DomainScope): Promise<{ gatewayId: string; capabilities: GatewayCapability[]; gateway: ChannelGateway }> {
    const conversation = await this.conversations.get(conversationId, scope);
    if (!conversation.channelGatewayId) {
      throw new DomainError('invalid_state', 'This conversation is not a channel conversation: the bot platform reaches its user itself');
    }
    const registered = this.registry.findChannel(conversation.channel);
    if (!registered) throw new DomainError('invalid_state', `Channel gateway type '${conversation.channel}' is not available in this deployment`);
    return { gatewayId: conversation.channelGatewayId, capabilities: registered.gateway.definition.capabilities, gateway: registered.gateway };
  }

  /**
   * Stores an agent's message or typing in the caller's transaction (the escalation ingest's, which holds the
   * conversation's lock), keyed so that it is stored once. Never refuses: what the channel cannot show is left out
   * (the bot has the event), and a channel type missing from this deployment stores nothing. Answers whether a
   * message was stored (the sender is then woken after the commit).
   */
  async agentActivityIn(em: EntityManager, conversationId: string, activity: OutboundActivity, key: string | null): Promise<boolean> {
    const channel = await this.channels.channelOf(em, conversationId);
    if (!channel) return false;
    const capabilities = this.registry.findChannel(channel.channel)?.gateway.definition.capabilities;
    if (!capabilities) return false;
    let kind: 'message' | 'typing' = 'message';
    if (activity.type === 'typing') {
      if (!capabilities.includes('typing')) return false;
      kind = 'typing';
    } else {
      const all = activity.attachments ?? [];
      const files = all.filter((a) => a.content === undefined);
      const shown = all.filter((a) => (a.content === undefined ? capabilities.includes('attachments') : capabilities.includes('adaptive-cards')));
      // A channel without files still gets the file's link, as text: the user can open it.
      const links = capabilities.includes('attachments') ? [] : files.map((f) => `${f.name ?? 'file'}: ${f.url}`);
      const text = [activity.text, ...links].filter(Boolean).join('\n') || undefined;
      const { attachments: _all, text: _text, ...rest } = activity;
      activity = { ...rest, ...(text ? { text } : {}), ...(shown.length ? { attachments: shown } : {}) };
      if (!activity.text && !activity.attachments) return false;
    }
    if (key && (await this.channels.findByIdempotencyKey(em, conversationId, key))) return false;
    await this.channels.addMessage(em, {
      conversationId,
      gatewayId: channel.gatewayId,
      kind,
      author: activity.author,
      authorName: activity.authorName ?? null,
      activity: activity as unknown as Record<string, unknown>,
      idempotencyKey: key,
      requestHash: null,
    });
    return true;
  }

  /** Wakes the conversation's sender (after the commit of what it is to send). */
  wake(conversationId: string): Promise<unknown> {
    return this.jobs.channelSend(conversationId);
  }

  private async store(
    conversationId: string,
    gatewayId: string,
    kind: 'message' | 'typing',
    activity: OutboundActivity,
    idempotencyKey: string | null,
    hash: string | null,
  ): Promise<{ message: OutboundMessageEntity; created: boolean }> {
    const outcome = await this.channels.transaction(async (em) => {
      // The conversation's row lock orders this against a take-over being recorded: a bot message stored after an
      // agent took control would be sent over the agent.
      const locked = await this.conversations.lockForEvents(em, conversationId);
      if (idempotencyKey) {
        const existing = await this.channels.findByIdempotencyKey(em, conversationId, idempotencyKey);
        if (existing) {
          if (existing.requestHash !== hash) throw new DomainError('idempotency_conflict', 'This Idempotency-Key was used with a different request body');
          return { message: existing, created: false };
        }
      }
      if (activity.author === 'bot' && locked.control === 'agent') {
        throw new DomainError('control_conflict', 'An agent controls this conversation; bot messages are refused until the escalation ends');
      }
      const message = await this.channels.addMessage(em, {
        conversationId,
        gatewayId,
        kind,
        author: activity.author,
        authorName: activity.authorName ?? null,
        activity: activity as unknown as Record<string, unknown>,
        idempotencyKey,
        requestHash: hash,
      });
      return { message, created: true };
    });
    if (outcome.created) await this.jobs.channelSend(conversationId);
    return outcome;
  }
}
