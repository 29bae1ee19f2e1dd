import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DomainScope, EVERY_DOMAIN, inScope, scopeParam } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { Statement } from '../database/combined-statement';
import { ConversationEntity, EventEntity } from '../database/entities';
import { prepared } from '../database/prepared';
import { withDelivery } from './event-views';

/**
 * An escalation's events in order, as `EventEntity`s, looked up by key (the conversation's `(conversation_id, seq)`
 * or the escalation's `(escalation_id, platform_key)`), never by scanning the events:
 * `test/database/operator-reads.int-spec.ts` checks the plan.
 */
export const ESCALATION_EVENTS = `
  SELECT id, conversation_id AS "conversationId", seq, escalation_id AS "escalationId", type, data, platform_key AS "platformKey",
         occurred_at AS "occurredAt", created_at AS "createdAt", delivery_status AS "deliveryStatus", delivery_attempts AS "deliveryAttempts"
    FROM events WHERE conversation_id = $1 AND escalation_id = $2 ORDER BY seq`;

/**
 * SQL deleting the events of the escalations a WITH clause `due` names (columns `id`, `conversation_id`), looked up
 * by the conversation's key (their delivery attempts follow by cascade): for the escalations' retention.
 */
export function deleteEventsOf(due: string): string {
  return `DELETE FROM events e USING ${due} WHERE e.conversation_id = ${due}.conversation_id AND e.escalation_id = ${due}.id`;
}

/** One event to store: its conversation's next sequence number is decided by the caller, under the row lock. */
export interface EventRowInput {
  conversationId: string;
  seq: number;
  escalationId: string | null;
  type: string;
  /** JSON, already made storable. */
  data: string;
  platformKey: string;
  occurredAt: Date;
}

/** A conversation moved on by stored events: its new last sequence number, control and whether it closed. */
export interface ConversationAdvance {
  id: string;
  lastSeq: number;
  /** The last sequence number before this statement: a higher module's extension may compare with it. */
  prevSeq: number;
  control: 'bot' | 'agent';
  closed: boolean;
}

/**
 * What a higher module adds to the statement that advances conversations (delivery's hand-off claim), so that one
 * UPDATE writes each row once: SET clauses and RETURNING columns written against `c` (the conversation row) and `u`
 * (its advance: `seq`, `control`, `closed`, `prev_seq`), with its parameters numbered from `$<first>`.
 */
export interface AdvanceExtension {
  clauses(first: number): { sets: string[]; returning: string[]; values: unknown[] };
}

/**
 * The conversation core's storage: conversations (who they are, who controls them, their sequence) and their events,
 * stored once each and numbered without gaps per conversation. The delivery columns of `conversations` belong to
 * the delivery module, which writes them; they are read here only to say how far delivery got.
 */
@Injectable()
export class ConversationsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The conversation the bot platform calls `externalId` in a domain, made on first use; answers its id. */
  async upsert(em: EntityManager, domainId: string, externalId: string, channel: string): Promise<string> {
    const [row] = await em.query(
      `INSERT INTO conversations (domain_id, external_id, channel) VALUES ($1, $2, $3)
       ON CONFLICT (domain_id, external_id) DO UPDATE SET channel = EXCLUDED.channel, updated_at = now()
       RETURNING id`,
      [domainId, externalId, channel],
    );
    return row.id;
  }

  /**
   * A conversation a channel gateway opens (its first user activity): the bot platform knows it by the service's id,
   * which is therefore its `external_id` too. Control starts with the bot.
   */
  async createForChannel(em: EntityManager, fields: { id: string; domainId: string; channel: string; channelGatewayId: string }): Promise<void> {
    await em.query(`INSERT INTO conversations (id, domain_id, external_id, channel, channel_gateway_id) VALUES ($1::uuid, $2, $1::text, $3, $4)`, [
      fields.id,
      fields.domainId,
      fields.channel,
      fields.channelGatewayId,
    ]);
  }

  /** Locks a conversation for a writer that numbers its events: its sequence, control and domain as locked. */
  async lockForEvents(em: EntityManager, id: string): Promise<{ id: string; domainId: string; lastSeq: number; control: 'bot' | 'agent'; closedAt: Date | null }> {
    const [row] = await em.query(`SELECT id, domain_id, last_seq, control, closed_at FROM conversations WHERE id = $1 FOR UPDATE`, [id]);
    if (!row) throw DomainError.notFound('Conversation', id);
    return { id: row.id, domainId: row.domain_id, lastSeq: row.last_seq, control: row.control, closedAt: row.closed_at };
  }

  /** Which of these platform keys a conversation's channel events (those of no escalation) already have. */
  async storedChannelKeys(em: EntityManager, conversationId: string, keys: string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const rows: { platform_key: string }[] = await em.query(
      `SELECT platform_key FROM events WHERE conversation_id = $1 AND escalation_id IS NULL AND platform_key = ANY($2::text[])`,
      [conversationId, keys],
    );
    return new Set(rows.map((row) => row.platform_key));
  }

  /** The conversation, when its domain is within `scope` (a 404 otherwise, as for no such id). */
  async get(id: string, scope: DomainScope): Promise<ConversationEntity> {
    const conversation = await this.db.getRepository(ConversationEntity).findOneBy({ id });
    if (!conversation || !inScope(scope, conversation.domainId)) throw DomainError.notFound('Conversation', id);
    return conversation;
  }

  findMany(ids: string[]): Promise<ConversationEntity[]> {
    return ids.length ? this.db.getRepository(ConversationEntity).findBy(ids.map((id) => ({ id }))) : Promise.resolve([]);
  }

  /** How the bot platform names the conversation and where its user is. */
  async identity(id: string): Promise<{ externalId: string; channel: string }> {
    const [row] = await this.db.query(`SELECT external_id, channel FROM conversations WHERE id = $1`, [id]);
    return { externalId: row.external_id, channel: row.channel };
  }

  /** Who answers the user now; in a transaction, as that transaction sees it. */
  async control(id: string, em: Pick<EntityManager, 'query'> = this.db.manager): Promise<'bot' | 'agent'> {
    const [row] = await em.query(`SELECT control FROM conversations WHERE id = $1`, [id]);
    return row.control;
  }

  /** How far delivery got (0 before anything was delivered), for `withDelivery`. */
  async deliveredSeq(id: string): Promise<number> {
    const [row] = await this.db.query(`SELECT delivered_seq FROM conversations WHERE id = $1`, [id]);
    return row?.delivered_seq ?? 0;
  }

  /** The events after `after`, in order, with their delivery. */
  async events(conversationId: string, after: number, limit: number): Promise<EventEntity[]> {
    const deliveredSeq = await this.deliveredSeq(conversationId);
    const events = await this.db
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .where('e.conversation_id = :conversationId AND e.seq > :after', { conversationId, after })
      .orderBy('e.seq', 'ASC')
      .limit(limit)
      .getMany();
    return events.map((event) => withDelivery(event, deliveredSeq));
  }

  /** An escalation's events in order, with their delivery. */
  async eventsOfEscalation(conversationId: string, escalationId: string): Promise<EventEntity[]> {
    const [events, deliveredSeq] = await Promise.all([this.db.query(ESCALATION_EVENTS, [conversationId, escalationId]) as Promise<EventEntity[]>, this.deliveredSeq(conversationId)]);
    return events.map((event) => withDelivery(event, deliveredSeq));
  }

  /** Events of every conversation within `scope` after an events row id, only from transactions older than any still running. */
  async eventsAfterId(lastId: string, domain: string | undefined, scope: DomainScope, limit = 500): Promise<EventEntity[]> {
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

  /** The newest events row id (0 with none): where a stream without a start begins. */
  async latestEventId(): Promise<string> {
    const [{ max }] = await this.db.query(`SELECT coalesce(max(id), 0)::text AS max FROM events`);
    return max;
  }

  /** Which of the (escalation, platform key) pairs are stored, read by a statement of its own (it sees every commit). */
  async storedKeys(em: EntityManager, pairs: [escalationId: string, platformKey: string][]): Promise<{ escalation_id: string; platform_key: string }[]> {
    return prepared<{ escalation_id: string; platform_key: string }>(
      em,
      `SELECT ev.escalation_id, ev.platform_key FROM unnest($1::uuid[], $2::text[]) AS k(escalation_id, platform_key)
         JOIN events ev ON ev.escalation_id = k.escalation_id AND ev.platform_key = k.platform_key`,
      [pairs.map(([id]) => id), pairs.map(([, key]) => key)],
    );
  }

  /**
   * Stores events, in the given order (so that ids, the stream's order, follow each conversation's sequence).
   * Answers `id, conversation_id, seq, escalation_id, type, data, occurred_at, created_at` per event. The joins with
   * unnest() keep a prepared statement's generic plan looking rows up by key whatever their number.
   */
  insertEventsStatement(rows: EventRowInput[]): Statement {
    return {
      sql: `INSERT INTO events (conversation_id, seq, escalation_id, type, data, platform_key, occurred_at)
            SELECT c, s, e, t, d, k, o
              FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[])
                   WITH ORDINALITY AS r(c, s, e, t, d, k, o, n)
             ORDER BY n
            RETURNING id, conversation_id, seq, escalation_id, type, data, occurred_at, created_at`,
      values: [
        rows.map((row) => row.conversationId),
        rows.map((row) => row.seq),
        rows.map((row) => row.escalationId),
        rows.map((row) => row.type),
        rows.map((row) => row.data),
        rows.map((row) => row.platformKey),
        rows.map((row) => row.occurredAt),
      ],
    };
  }

  /**
   * Moves conversations to their new last sequence number and control (closing those that closed), with what
   * `extension` adds to the same UPDATE. Answers `id, domain_id` and the extension's columns per conversation.
   */
  advanceStatement(advances: ConversationAdvance[], extension?: AdvanceExtension): Statement {
    const values: unknown[] = [advances.map((a) => a.id), advances.map((a) => a.lastSeq), advances.map((a) => a.control), advances.map((a) => a.closed), advances.map((a) => a.prevSeq)];
    const extra = extension?.clauses(values.length + 1) ?? { sets: [], returning: [], values: [] };
    values.push(...extra.values);
    return {
      sql: `UPDATE conversations c SET last_seq = u.seq, control = u.control, closed_at = CASE WHEN u.closed THEN now() ELSE c.closed_at END, updated_at = now()${extra.sets.map((set) => `, ${set}`).join('')}
              FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bool[], $5::int[]) AS u(id, seq, control, closed, prev_seq)
             WHERE c.id = u.id AND c.id = ANY($1::uuid[])
            RETURNING c.id, c.domain_id${extra.returning.map((column) => `, ${column}`).join('')}`,
      values,
    };
  }
}
