import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainScope, EVERY_DOMAIN, inScope } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { EntityManager } from 'typeorm';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { EscalationEntity, RelayCommandEntity } from '../database/entities';
import { DomainsService } from '../domains/domains.service';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { AttachmentsRepository } from './attachments.repository';
import { EscalationContexts } from './escalation-contexts.service';
import { EscalationLifecycle } from './escalation-lifecycle.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationRecorder } from './escalation-recorder.service';
import { AttachmentInputDto, CreateEscalationDto, RelayMessageDto } from './escalations.dto';
import { EscalationsRepository } from './escalations.repository';
import { RelayCommandsRepository } from './relay-commands.repository';
import { serviceEvent } from './service-events';

const MAX_INLINE_ATTACHMENT = 768 * 1024;

/** Canonical JSON (sorted keys) so the same body always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

/** Intake (REST and queue) and the relay/control commands integrators send. */
@Injectable()
export class EscalationsService {
  constructor(
    private readonly repo: EscalationsRepository,
    private readonly commands: RelayCommandsRepository,
    private readonly attachments: AttachmentsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly domains: DomainsService,
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
    private readonly policies: EscalationPolicyResolver,
    private readonly contexts: EscalationContexts,
    private readonly recorder: EscalationRecorder,
    private readonly lifecycle: EscalationLifecycle,
    private readonly jobs: JobDispatcher,
  ) {}

  /**
   * Creates an escalation, or returns the one an earlier request with the same key and body created. A domain outside
   * `scope` is unknown, and is refused before the idempotency key is looked up: keys are per account, and two keys of
   * one account may see different domains.
   */
  async create(body: CreateEscalationDto, idempotencyKey: string | null, requestedBy: string, scope: DomainScope = EVERY_DOMAIN): Promise<{ escalation: EscalationEntity; created: boolean }> {
    const hash = requestHash(body);
    const domain = await this.domains.findByName(body.domain);
    if (!domain || !inScope(scope, domain.id)) throw DomainError.validation([{ field: 'domain', message: `unknown domain '${body.domain}'` }]);
    if (idempotencyKey) {
      const existing = await this.repo.findByIdempotencyKey(requestedBy, idempotencyKey);
      if (existing) return { escalation: this.checkSameRequest(existing, hash), created: false };
    }
    const [gateway] = await this.gateways.findMany([body.gatewayId]);
    if (!gateway || gateway.domainId !== domain.id) throw DomainError.validation([{ field: 'gatewayId', message: 'no gateway with this id in the domain' }]);
    if (!this.registry.findEscalation(gateway.type)) {
      throw DomainError.validation([{ field: 'gatewayId', message: 'is not an escalation gateway available in this deployment' }]);
    }
    if (!gateway.deployed) throw DomainError.validation([{ field: 'gatewayId', message: 'the gateway is not deployed' }]);
    for (const [key, value] of Object.entries(body.attributes ?? {})) {
      if (typeof value !== 'string') throw DomainError.validation([{ field: `attributes.${key}`, message: 'must be a string' }]);
    }
    const named = body.conversation.id;
    if (named) {
      // The same 404 as for no such conversation when it is another domain's.
      const conversation = await this.conversations.get(named, scope).catch(() => null);
      if (!conversation || conversation.domainId !== domain.id) throw DomainError.validation([{ field: 'conversation.id', message: 'no conversation with this id in the domain' }]);
    }
    const policy = this.policies.remember(gateway);
    const timeoutAt = new Date(Date.now() + policy.escalationTimeoutSeconds * 1000);

    let escalation: EscalationEntity;
    try {
      escalation = await this.repo.transaction(async (em) => {
        const conversationId = named ?? (await this.conversations.upsert(em, domain.id, body.conversation.externalId!, body.conversation.channel!));
        const created = await this.repo.create(em, {
          conversationId,
          domainId: domain.id,
          gatewayId: gateway.id,
          idempotencyKey,
          requestHash: hash,
          requestedBy,
          queue: body.queue ?? null,
          endUser: { ...body.user } as Record<string, string>,
          attributes: body.attributes ?? {},
          timeoutAt,
        });
        const history = [];
        for (const entry of body.history ?? []) {
          history.push({ ...entry, attachments: entry.attachments ? await this.storeAttachments(em, created.id, entry.attachments, 'history') : undefined });
        }
        await this.repo.setHistory(em, created.id, history);
        return created;
      });
    } catch (error) {
      const constraint = (error as { constraint?: string }).constraint;
      if (constraint === 'escalations_idempotency_idx' && idempotencyKey) {
        const existing = await this.repo.findByIdempotencyKey(requestedBy, idempotencyKey);
        if (existing) return { escalation: this.checkSameRequest(existing, hash), created: false };
      }
      if (constraint === 'escalations_one_open_per_conversation_idx') {
        throw new DomainError('conflict', 'The conversation already has an open escalation');
      }
      throw error;
    }
    await this.jobs.start(escalation.id, 1);
    await this.jobs.timeout(escalation.id, escalation.timeoutAt);
    return { escalation, created: true };
  }

  private checkSameRequest(existing: EscalationEntity, hash: string): EscalationEntity {
    if (existing.requestHash !== hash) {
      throw new DomainError('idempotency_conflict', 'This Idempotency-Key was used with a different request body');
    }
    return existing;
  }

  async relayMessage(escalationId: string, body: RelayMessageDto, scope: DomainScope): Promise<RelayCommandEntity> {
    if (!body.text && !body.attachments?.length && !body.cards?.length) {
      throw DomainError.validation([{ field: 'text', message: 'a message needs text, attachments or cards' }]);
    }
    return this.append(escalationId, scope, 'message', body.author ?? 'user', body.clientMessageId ?? null, async (em) => ({
      text: body.text,
      cards: body.cards,
      attachments: body.attachments ? await this.storeAttachments(em, escalationId, body.attachments, 'attachments') : undefined,
    }));
  }

  /** The conversation's open escalation, or null: the switchboard relays a channel user's activity to it. */
  openEscalationOf(conversationId: string): Promise<string | null> {
    return this.repo.openOf(conversationId);
  }

  typing(escalationId: string, state: 'started' | 'stopped', scope: DomainScope): Promise<RelayCommandEntity> {
    return this.append(escalationId, scope, 'typing', 'user', null, async () => ({ state }));
  }

  async transfer(escalationId: string, queue: string, scope: DomainScope): Promise<RelayCommandEntity> {
    const escalation = await this.repo.get(escalationId, scope);
    const { gateway } = await this.contexts.gatewayOf(escalation);
    if (!gateway.definition.capabilities.includes('queue-transfer') || !gateway.transferEscalation) {
      throw new DomainError('invalid_state', `Gateway type '${gateway.definition.type}' cannot transfer between queues`);
    }
    return this.append(escalationId, scope, 'transfer', 'user', null, async () => ({ queue }));
  }

  /** The user left. Before the platform session exists there is nothing to close: the escalation ends at once. */
  async end(escalationId: string, reason: string | undefined, scope: DomainScope): Promise<RelayCommandEntity | null> {
    const escalation = await this.repo.get(escalationId, scope);
    if (escalation.state === 'requested') {
      await this.recorder.record(escalationId, { events: [serviceEvent('ended', 'user-end', { by: 'user', reason })] });
      return null;
    }
    return this.append(escalationId, scope, 'end', 'user', null, async () => ({ reason }));
  }

  async steal(escalationId: string, reason: string | undefined, scope: DomainScope): Promise<void> {
    const escalation = await this.repo.get(escalationId, scope);
    if (!['requested', 'starting', 'queued', 'active'].includes(escalation.state)) {
      throw new DomainError('invalid_state', `The escalation is ${escalation.state}`);
    }
    await this.lifecycle.steal(escalationId, reason ?? 'no reason given');
  }

  private async append(
    escalationId: string,
    scope: DomainScope,
    kind: RelayCommandEntity['kind'],
    author: 'user' | 'bot',
    clientMessageId: string | null,
    payloadOf: (em: EntityManager) => Promise<Record<string, unknown>>,
  ): Promise<RelayCommandEntity> {
    const command = await this.repo.transaction(async (em) => {
      const escalation = await this.repo.lock(escalationId, em, scope);
      if (['ended', 'failed', 'timed_out'].includes(escalation.state)) {
        throw new DomainError('invalid_state', `The escalation is ${escalation.state}; nothing more can be sent`);
      }
      if (clientMessageId) {
        const existing = await this.commands.findByClientMessageId(em, escalationId, clientMessageId);
        if (existing) return existing;
      }
      if (author === 'bot' && (await this.conversations.control(escalation.conversationId, em)) === 'agent') {
        throw new DomainError('control_conflict', 'An agent controls this conversation; bot messages are refused until the escalation ends');
      }
      const seq = await this.repo.nextRelaySeq(em, escalationId);
      return this.commands.add(em, { escalationId, seq, kind, author, clientMessageId, payload: await payloadOf(em) });
    });
    await this.jobs.relay(escalationId, command.seq);
    return command;
  }

  private async storeAttachments(em: EntityManager, escalationId: string, inputs: AttachmentInputDto[], field: string) {
    const refs = [];
    for (const [i, input] of inputs.entries()) {
      if (!input.url && !input.contentBase64) throw DomainError.validation([{ field: `${field}[${i}]`, message: 'needs url or contentBase64' }]);
      if (input.contentBase64) {
        const content = Buffer.from(input.contentBase64, 'base64');
        if (content.length === 0 || content.length > MAX_INLINE_ATTACHMENT) {
          throw DomainError.validation([{ field: `${field}[${i}].contentBase64`, message: 'must be non-empty base64 of at most 768 KiB' }]);
        }
        const id = await this.attachments.add(em, { escalationId, direction: 'to_agent', name: input.name, mimeType: input.mimeType, content });
        refs.push({ id, name: input.name, mimeType: input.mimeType, size: content.length });
      } else {
        refs.push({ name: input.name, mimeType: input.mimeType, url: input.url });
      }
    }
    return refs;
  }
}
