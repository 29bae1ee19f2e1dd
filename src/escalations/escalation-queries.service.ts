import { Injectable } from '@nestjs/common';
import { DomainScope } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { eventDto } from '../conversations/event-views';
import { EscalationEntity } from '../database/entities';
import { DomainsService } from '../domains/domains.service';
import { AttachmentsRepository } from './attachments.repository';
import { escalationDto, relayDto } from './escalation-views';
import { EscalationDetailDto, EscalationDto, EscalationPageDto } from './escalations.dto';
import { EscalationFilter, EscalationsRepository, LIST_COUNT_CAP } from './escalations.repository';
import { RelayCommandsRepository } from './relay-commands.repository';

/**
 * Read side for operators: lists, details with transcript and transitions, files. Each read takes the caller's
 * domain scope: lists hold only its domains, and a lookup outside it answers as for an id that does not exist.
 */
@Injectable()
export class EscalationQueriesService {
  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly commands: RelayCommandsRepository,
    private readonly attachments: AttachmentsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly domains: DomainsService,
  ) {}

  async list(filter: EscalationFilter & { page: number; pageSize: number }): Promise<EscalationPageDto> {
    const { rows, counted } = await this.escalations.list(filter, filter.page, filter.pageSize);
    return {
      items: await this.views(rows),
      page: filter.page,
      pageSize: filter.pageSize,
      total: Math.min(counted, LIST_COUNT_CAP),
      totalCapped: counted > LIST_COUNT_CAP,
    };
  }

  async get(id: string, scope: DomainScope): Promise<EscalationDto> {
    return (await this.views([await this.escalations.get(id, scope)]))[0];
  }

  async detail(id: string, scope: DomainScope): Promise<EscalationDetailDto> {
    const escalation = await this.escalations.get(id, scope);
    const [[base], transitions, events, relay] = await Promise.all([
      this.views([escalation]),
      this.escalations.transitions(id),
      this.conversations.eventsOfEscalation(escalation.conversationId, id),
      this.commands.ofEscalation(id),
    ]);
    return {
      ...base,
      history: escalation.history,
      transitions: transitions.map((t) => ({ from: t.fromState, to: t.toState, reason: t.reason, at: t.at.toISOString() })),
      transcript: events.map(eventDto),
      relay: relay.map(relayDto),
    };
  }

  async attachment(escalationId: string, attachmentId: string, scope: DomainScope): Promise<{ name: string; mimeType: string; content: Buffer }> {
    const file = await this.attachments.download(attachmentId, escalationId, scope);
    if (!file) throw DomainError.notFound('Attachment', attachmentId);
    return file;
  }

  private async views(rows: EscalationEntity[]): Promise<EscalationDto[]> {
    if (rows.length === 0) return [];
    const [conversations, domains] = await Promise.all([this.conversations.findMany([...new Set(rows.map((r) => r.conversationId))]), this.domains.namesOf([...new Set(rows.map((r) => r.domainId))])]);
    const byConversation = new Map(conversations.map((c) => [c.id, c]));
    return rows.map((r) => escalationDto(r, byConversation.get(r.conversationId)!, domains.get(r.domainId) ?? ''));
  }
}
