import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, SelectQueryBuilder } from 'typeorm';
import { DomainScope, EVERY_DOMAIN, inScope, scopeCondition, scopeParam } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import {
  ConversationEntity,
  DomainEntity,
  EscalationEntity,
  EscalationTransitionEntity,
  EventEntity,
  RelayCommandEntity,
} from '../database/entities';
import { DeliveryAttemptDto, EscalationDetailDto, EscalationDto, EscalationPageDto } from './escalations.dto';
import { deliveredSeqOf, escalationDto, eventDto, relayDto, withDelivery } from './escalation-views';

/**
 * An escalation's events in order, as `EventEntity`s, looked up by key (the conversation's `(conversation_id, seq)`
 * or the escalation's `(escalation_id, platform_key)`), never by scanning the events:
 * `test/database/operator-reads.int-spec.ts` checks the plan.
 */
export const ESCALATION_EVENTS = `
  SELECT id, conversation_id AS "conversationId", seq, escalation_id AS "escalationId", type, data, platform_key AS "platformKey",
         occurred_at AS "occurredAt", created_at AS "createdAt", delivery_status AS "deliveryStatus", delivery_attempts AS "deliveryAttempts"
    FROM events WHERE conversation_id = $1 AND escalation_id = $2 ORDER BY seq`;

/** The delivery attempts of a conversation's event `seq` (one row with null attempt columns when it has none). */
export const EVENT_ATTEMPTS = `
  SELECT e.id AS event_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms
    FROM events e LEFT JOIN delivery_attempts a ON a.event_id = e.id
   WHERE e.conversation_id = $1 AND e.seq = $2
   ORDER BY a.attempt, a.id`;

/** The most escalations a list counts; past it, `total` is this and `totalCapped` is true. */
export const LIST_COUNT_CAP = 10_000;

export interface EscalationFilter {
  state?: string;
  gatewayId?: string;
  domain?: string;
  from?: Date;
  to?: Date;
  /** Only the escalations of these domains (the caller's scope). */
  scope?: DomainScope;
  page: number;
  pageSize: number;
}

/**
 * Read side for operators: lists, details with transcript and transitions, events. Each read takes the caller's
 * domain scope: lists hold only its domains, and a lookup outside it answers as for an id that does not exist.
 */
@Injectable()
export class EscalationQueriesService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async list(filter: EscalationFilter): Promise<EscalationPageDto> {
    const qb = this.listQuery(filter);
    // Counted up to the cap: an exact count reads every matching escalation for every page asked for (the count
    // TypeORM writes took 856 ms over a million escalations; this one 3 ms).
    const [matching, values] = qb.clone().select('1').orderBy().limit(LIST_COUNT_CAP + 1).getQueryAndParameters();
    const [{ counted }]: { counted: number }[] = await this.db.query(`SELECT count(*)::int AS counted FROM (${matching}) m`, values);
    const rows = await qb.offset((filter.page - 1) * filter.pageSize).limit(filter.pageSize).getMany();
    return {
      items: await this.views(rows),
      page: filter.page,
      pageSize: filter.pageSize,
      total: Math.min(counted, LIST_COUNT_CAP),
      totalCapped: counted > LIST_COUNT_CAP,
    };
  }

  /** The escalations a filter selects, newest first (without the page: planned as it is by the int tests). */
  listQuery(filter: Omit<EscalationFilter, 'page' | 'pageSize'>): SelectQueryBuilder<EscalationEntity> {
    const qb = this.db
      .getRepository(EscalationEntity)
      .createQueryBuilder('e')
      .innerJoin(DomainEntity, 'd', 'd.id = e.domain_id')
      .orderBy('e.created_at', 'DESC')
      .addOrderBy('e.id', 'ASC');
    if (filter.scope) qb.andWhere('e.domain_id = ANY(:scope)', { scope: [...filter.scope] });
    if (filter.state) qb.andWhere('e.state = ANY(:states)', { states: filter.state.split(',') });
    if (filter.gatewayId) qb.andWhere('e.gateway_id = :gatewayId', { gatewayId: filter.gatewayId });
    if (filter.domain) qb.andWhere('d.name = :domain', { domain: filter.domain });
    if (filter.from || filter.to) {
      qb.andWhere(
        new Brackets((w) => {
          if (filter.from) w.andWhere('e.created_at >= :from', { from: filter.from });
          if (filter.to) w.andWhere('e.created_at < :to', { to: filter.to });
        }),
      );
    }
    return qb;
  }

  async get(id: string, scope: DomainScope): Promise<EscalationDto> {
    const escalation = await this.db.getRepository(EscalationEntity).findOneBy({ id });
    if (!escalation || !inScope(scope, escalation.domainId)) throw DomainError.notFound('Escalation', id);
    return (await this.views([escalation]))[0];
  }

  async detail(id: string, scope: DomainScope): Promise<EscalationDetailDto> {
    const base = await this.get(id, scope);
    const [transitions, events, relay, escalation, deliveredSeq] = await Promise.all([
      this.db.getRepository(EscalationTransitionEntity).find({ where: { escalationId: id }, order: { id: 'ASC' } }),
      this.db.query(ESCALATION_EVENTS, [base.conversationId, id]) as Promise<EventEntity[]>,
      this.db.getRepository(RelayCommandEntity).find({ where: { escalationId: id }, order: { seq: 'ASC' } }),
      this.db.getRepository(EscalationEntity).findOneByOrFail({ id }),
      deliveredSeqOf(this.db, base.conversationId),
    ]);
    return {
      ...base,
      history: escalation.history,
      transitions: transitions.map((t) => ({ from: t.fromState, to: t.toState, reason: t.reason, at: t.at.toISOString() })),
      transcript: events.map((event) => eventDto(withDelivery(event, deliveredSeq))),
      relay: relay.map(relayDto),
    };
  }

  async conversation(id: string, scope: DomainScope): Promise<{ conversation: ConversationEntity; domain: string }> {
    const conversation = await this.db.getRepository(ConversationEntity).findOneBy({ id });
    if (!conversation || !inScope(scope, conversation.domainId)) throw DomainError.notFound('Conversation', id);
    const domain = await this.db.getRepository(DomainEntity).findOneByOrFail({ id: conversation.domainId });
    return { conversation, domain: domain.name };
  }

  /** The delivery attempts of a conversation's event `seq`, in order; 404 when there is no such event. */
  async deliveryAttempts(conversationId: string, seq: number): Promise<DeliveryAttemptDto[]> {
    const rows: { event_id: string | null; attempt: number | null; at: Date | null; status_code: number | null; error: string | null; duration_ms: number | null }[] = await this.db.query(
      EVENT_ATTEMPTS,
      [conversationId, seq],
    );
    if (rows.length === 0) throw DomainError.notFound('Event', `${seq} of conversation ${conversationId}`);
    return rows
      .filter((row) => row.attempt !== null)
      .map((row) => ({ attempt: row.attempt!, at: row.at!.toISOString(), statusCode: row.status_code, error: row.error, durationMs: row.duration_ms! }));
  }

  async attachment(escalationId: string, attachmentId: string, scope: DomainScope): Promise<{ name: string; mimeType: string; content: Buffer }> {
    const [row] = await this.db.query(
      `SELECT a.name, a.mime_type, a.content FROM attachments a JOIN escalations x ON x.id = a.escalation_id
        WHERE a.id = $1 AND a.escalation_id = $2 AND ${scopeCondition('x.domain_id', 3)}`,
      [attachmentId, escalationId, scopeParam(scope)],
    );
    if (!row) throw DomainError.notFound('Attachment', attachmentId);
    return { name: row.name, mimeType: row.mime_type, content: row.content };
  }

  /** Events of every conversation within `scope` after a global id, only from transactions older than any still running. */
  async streamAfter(lastId: string, domain: string | undefined, scope: DomainScope, limit = 500): Promise<EventEntity[]> {
    const params: unknown[] = [lastId, limit];
    let domainFilter = '';
    if (domain) {
      params.push(domain);
      domainFilter = `AND c.domain_id = (SELECT id FROM domains WHERE name = $${params.length})`;
    }
    if (scope !== EVERY_DOMAIN) {
      params.push(scopeParam(scope));
      domainFilter += ` AND c.domain_id = ANY($${params.length}::uuid[])`;
    }
    const rows = await this.db.query(
      `SELECT e.id, e.conversation_id, e.seq, e.escalation_id, e.type, e.data, e.occurred_at, e.delivery_status, e.delivery_attempts,
              c.delivered_seq
         FROM events e JOIN conversations c ON c.id = e.conversation_id
        WHERE e.id > $1 AND e.xact < pg_snapshot_xmin(pg_current_snapshot())::text::bigint ${domainFilter}
        ORDER BY e.id LIMIT $2`,
      params,
    );
    return rows.map((r: Record<string, unknown>) =>
      withDelivery(
        Object.assign(new EventEntity(), {
          id: String(r.id),
          conversationId: r.conversation_id,
          seq: r.seq,
          escalationId: r.escalation_id,
          type: r.type,
          data: r.data,
          occurredAt: r.occurred_at,
          deliveryStatus: r.delivery_status,
          deliveryAttempts: r.delivery_attempts,
        }),
        r.delivered_seq as number,
      ),
    );
  }

  async latestEventId(): Promise<string> {
    const [{ max }] = await this.db.query(`SELECT coalesce(max(id), 0)::text AS max FROM events`);
    return max;
  }

  private async views(rows: EscalationEntity[]): Promise<EscalationDto[]> {
    if (rows.length === 0) return [];
    const conversations = await this.db.getRepository(ConversationEntity).findBy(rows.map((r) => ({ id: r.conversationId })));
    const domains = await this.db.getRepository(DomainEntity).find();
    const byConversation = new Map(conversations.map((c) => [c.id, c]));
    const byDomain = new Map(domains.map((d) => [d.id, d.name]));
    return rows.map((r) => escalationDto(r, byConversation.get(r.conversationId)!, byDomain.get(r.domainId) ?? ''));
  }
}
