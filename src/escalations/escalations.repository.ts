import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PlatformSession } from '@app/gateway-sdk';
import type { QueryResultRow } from 'pg';
import { Brackets, DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
import { DomainScope, EVERY_DOMAIN, inScope } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { SecretCipher } from '../crypto/secret-cipher';
import { combine, Statement } from '../database/combined-statement';
import { DomainEntity, EscalationEntity, EscalationState, EscalationTransitionEntity } from '../database/entities';
import { prepared } from '../database/prepared';
import { RowLease } from '../database/row-lease';
import { deleteEventsOf } from '../conversations/conversations.repository';
import { sourcesOf } from './escalation-state';

/** An escalation with a platform session, as a poll needs it. */
export interface PollRow {
  id: string;
  gateway_id: string;
  conversation_id: string;
  state: EscalationState;
  cursor: string | null;
  session_enc: string;
  start_attempts: number;
}

const POLL_COLUMNS = 'id, gateway_id, conversation_id, state, cursor, session_enc, start_attempts';
const POLLABLE = `state IN ('queued', 'active') AND session_enc IS NOT NULL`;

/**
 * An escalation and its conversation as an ingest holds them locked: the escalation's columns ingest uses (not the
 * history), its conversation's sequence and control, and which of the incoming events' platform keys are stored.
 */
export interface IngestLockRow {
  id: string;
  state: EscalationState;
  gateway_id: string;
  domain_id: string;
  conversation_id: string;
  queue: string | null;
  cursor: string | null;
  session_enc: string | null;
  seen: string[];
  last_seq: number;
  control: 'bot' | 'agent';
  /** The conversation's highest stored sequence number as the statement's snapshot saw it. */
  stored_seq: number;
  /** A channel conversation (the switchboard may send the agent's events to its user). */
  on_channel: boolean;
}

/** Filters of the operators' list. */
export interface EscalationFilter {
  state?: string;
  gatewayId?: string;
  domain?: string;
  from?: Date;
  to?: Date;
  /** Only the escalations of these domains (the caller's scope). */
  scope?: DomainScope;
}

/**
 * One batch, in one statement: the escalations that ended before $1 and whose events are all past their
 * conversation's delivery cursor (delivered or given up), then their events (by the conversation's key; the
 * attempts follow by cascade) and the escalations themselves (transitions, files and relay commands by cascade).
 * created_at bounds the scan (escalations_created_idx): an escalation ended after it was created. Answers the
 * escalations deleted.
 */
export const ESCALATION_RETENTION_BATCH = `
  WITH due AS (
    SELECT x.id, x.conversation_id FROM escalations x JOIN conversations c ON c.id = x.conversation_id
     WHERE x.created_at < $1::timestamptz AND x.ended_at < $1::timestamptz AND x.state IN ('ended', 'failed', 'timed_out')
       AND c.delivered_seq >= (SELECT coalesce(max(e.seq), 0) FROM events e WHERE e.conversation_id = x.conversation_id AND e.escalation_id = x.id)
     ORDER BY x.created_at
     LIMIT $2
     FOR UPDATE OF x SKIP LOCKED),
  events_gone AS (${deleteEventsOf('due')})
  DELETE FROM escalations x USING due WHERE x.id = due.id
  RETURNING x.id`;

/** The most escalations a list counts; past it, the count is this and says it is capped. */
export const LIST_COUNT_CAP = 10_000;

/**
 * Escalations and their transitions. State changes go through `transition`, which only succeeds from a legal state;
 * the platform session is sealed at rest (it holds the platform's session secrets).
 */
@Injectable()
export class EscalationsRepository {
  /** The relay lease (one drainer at a time, also when Redis lost its lock). */
  private readonly relayLease: RowLease;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: SecretCipher,
  ) {
    this.relayLease = new RowLease(db, 'escalations', 'relay_claim', 'relay_claimed_until');
  }

  /** Runs `work` in a transaction (the escalation writes that must commit together). */
  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /** The escalation, when its domain is within `scope`; otherwise the same 404 as for an id that does not exist. */
  async get(id: string, scope: DomainScope = EVERY_DOMAIN): Promise<EscalationEntity> {
    const found = await this.db.manager.findOneBy(EscalationEntity, { id });
    if (!found || !inScope(scope, found.domainId)) throw DomainError.notFound('Escalation', id);
    return found;
  }

  async lock(id: string, em: EntityManager, scope: DomainScope = EVERY_DOMAIN): Promise<EscalationEntity> {
    const found = await em.findOne(EscalationEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!found || !inScope(scope, found.domainId)) throw DomainError.notFound('Escalation', id);
    return found;
  }

  /** The conversation's open escalation (there is at most one), or null. */
  async openOf(conversationId: string): Promise<string | null> {
    const [row] = await this.db.query(`SELECT id FROM escalations WHERE conversation_id = $1 AND state IN ('requested', 'starting', 'queued', 'active') LIMIT 1`, [conversationId]);
    return row?.id ?? null;
  }

  findByIdempotencyKey(requestedBy: string, idempotencyKey: string): Promise<EscalationEntity | null> {
    return this.db.getRepository(EscalationEntity).findOneBy({ requestedBy, idempotencyKey });
  }

  /** A new escalation in state `requested`, with its first transition. */
  async create(em: EntityManager, fields: Partial<EscalationEntity>): Promise<EscalationEntity> {
    const created = await em.save(em.create(EscalationEntity, { ...fields, state: 'requested', history: [], startAttempts: 0, relaySeq: 0 }));
    await em.query(`INSERT INTO escalation_transitions (escalation_id, from_state, to_state, reason) VALUES ($1, NULL, 'requested', 'requested')`, [created.id]);
    return created;
  }

  async setHistory(em: EntityManager, id: string, history: unknown[]): Promise<void> {
    await em.query(`UPDATE escalations SET history = $2 WHERE id = $1`, [id, JSON.stringify(history)]);
  }

  /** The next relay sequence number of a locked escalation. */
  async nextRelaySeq(em: EntityManager, id: string): Promise<number> {
    const [[row]] = await em.query(`UPDATE escalations SET relay_seq = relay_seq + 1 WHERE id = $1 RETURNING relay_seq`, [id]);
    return row.relay_seq;
  }

  session(escalation: Pick<EscalationEntity, 'sessionEnc'>): PlatformSession | null {
    return escalation.sessionEnc ? this.cipher.decryptJson<PlatformSession>(escalation.sessionEnc) : null;
  }

  sealSession(session: PlatformSession | null): string | null {
    return session ? this.cipher.encryptJson(session) : null;
  }

  /**
   * Moves the escalation to `to` if it is in a state from which that is legal; records the transition. Returns false
   * (and changes nothing) otherwise, so an illegal transition cannot be written whatever the caller believed.
   */
  async transition(em: EntityManager, escalation: EscalationEntity, to: EscalationState, reason: string, fields: Partial<Record<string, unknown>> = {}): Promise<boolean> {
    const from = escalation.state;
    const sets = ['state = $2', 'updated_at = now()'];
    const values: unknown[] = [escalation.id, to, sourcesOf(to)];
    for (const [column, value] of Object.entries(fields)) {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
    if (to === 'ended' || to === 'failed' || to === 'timed_out') sets.push('ended_at = now()');
    const rows: { id: string }[] = await em.query(`UPDATE escalations SET ${sets.join(', ')} WHERE id = $1 AND state = ANY($3) RETURNING id`, values);
    const updated = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length > 0 : rows.length > 0;
    if (!updated) return false;
    await em.query(`INSERT INTO escalation_transitions (escalation_id, from_state, to_state, reason) VALUES ($1, $2, $3, $4)`, [escalation.id, from, to, reason]);
    escalation.state = to;
    return true;
  }

  transitions(id: string): Promise<EscalationTransitionEntity[]> {
    return this.db.getRepository(EscalationTransitionEntity).find({ where: { escalationId: id }, order: { id: 'ASC' } });
  }

  /**
   * Locks the escalations with their conversations, taken in conversation id order (each with its escalations) so
   * that two writers of a conversation's sequence cannot lock in opposite orders, and reads which of `keyed`'s
   * (escalation, platform key) pairs are stored, in one statement. It reads the conversations' and events' columns
   * it needs beside the escalations': the lock and what it protects must be read together.
   */
  lockForIngest(em: EntityManager, ids: string[], keyed: [escalationId: string, platformKey: string][]): Promise<IngestLockRow[]> {
    return prepared<IngestLockRow>(
      em,
      `SELECT c.last_seq, c.control, c.channel_gateway_id IS NOT NULL AS on_channel, x.id, x.state, x.gateway_id, x.domain_id, x.conversation_id, x.queue, x.cursor, x.session_enc,
              ARRAY(SELECT ev.platform_key FROM unnest($2::uuid[], $3::text[]) AS k(escalation_id, platform_key)
                      JOIN events ev ON ev.escalation_id = k.escalation_id AND ev.platform_key = k.platform_key
                     WHERE k.escalation_id = x.id) AS seen,
              (SELECT coalesce(max(seq), 0) FROM events WHERE conversation_id = c.id) AS stored_seq
         FROM conversations c JOIN escalations x ON x.conversation_id = c.id
        WHERE x.id = ANY($1::uuid[]) ORDER BY c.id, x.id FOR UPDATE OF c, x`,
      [ids, keyed.map(([id]) => id), keyed.map(([, key]) => key)],
    );
  }

  /**
   * Runs several modules' statements as one (`combine`) in the transaction of `em`, in one round trip: an ingest's
   * writes. Answers the last statement's rows.
   */
  runCombined<T extends QueryResultRow>(em: EntityManager, statements: Statement[]): Promise<T[]> {
    const { sql, values } = combine(statements);
    return prepared<T>(em, sql, values);
  }

  /** Sets escalations' read positions and sealed sessions, each only where asked. */
  cursorAndSessionStatement(sets: { id: string; setCursor: boolean; cursor: string | null; setSession: boolean; session: string | null }[]): Statement {
    return {
      sql: `UPDATE escalations x SET cursor = CASE WHEN u.set_cursor THEN u.cursor ELSE x.cursor END,
                   session_enc = CASE WHEN u.set_session THEN u.session ELSE x.session_enc END, updated_at = now()
              FROM unnest($1::uuid[], $2::bool[], $3::text[], $4::bool[], $5::text[]) AS u(id, set_cursor, cursor, set_session, session)
             WHERE x.id = u.id AND x.id = ANY($1::uuid[])`,
      values: [sets.map((e) => e.id), sets.map((e) => e.setCursor), sets.map((e) => e.cursor), sets.map((e) => e.setSession), sets.map((e) => e.session)],
    };
  }

  /** Marks when a relay found an active escalation's platform session over; answers the mark (the first one kept). */
  async markSessionGone(id: string): Promise<Date | null> {
    const [marked] = await prepared<{ session_gone_at: Date }>(
      this.db,
      `UPDATE escalations SET session_gone_at = coalesce(session_gone_at, now()) WHERE id = $1 AND state = 'active' RETURNING session_gone_at`,
      [id],
    );
    return marked?.session_gone_at ?? null;
  }

  async clearSessionGone(id: string): Promise<void> {
    await this.db.query(`UPDATE escalations SET session_gone_at = NULL WHERE id = $1`, [id]);
  }

  /**
   * Takes the escalation's relay lease for `token` (one drainer at a time, also when Redis lost its lock); false
   * when another drainer holds it.
   */
  takeRelayLease(id: string, token: string, termMs: number): Promise<boolean> {
    return this.relayLease.take(id, token, termMs);
  }

  renewRelayLease(id: string, token: string, termMs: number): Promise<boolean> {
    return this.relayLease.renew(id, token, termMs);
  }

  releaseRelayLease(id: string, token: string): Promise<void> {
    return this.relayLease.release(id, token);
  }

  /** The escalations with a platform session to poll whose ids lie in [from, to) (to: open-ended when null). */
  pollableIn(from: string, to: string | null): Promise<PollRow[]> {
    return to
      ? this.db.query(`SELECT ${POLL_COLUMNS} FROM escalations WHERE ${POLLABLE} AND id >= $1 AND id < $2`, [from, to])
      : this.db.query(`SELECT ${POLL_COLUMNS} FROM escalations WHERE ${POLLABLE} AND id >= $1`, [from]);
  }

  async pollable(id: string): Promise<PollRow | null> {
    const [row] = (await this.db.query(`SELECT ${POLL_COLUMNS} FROM escalations WHERE id = $1 AND ${POLLABLE}`, [id])) as PollRow[];
    return row ?? null;
  }

  /** Reconcile: escalations to start (again), with their attempts and when the next may go. */
  toStart(): Promise<{ id: string; start_attempts: number; next_start_at: Date | null }[]> {
    return this.db.query(
      `SELECT id, start_attempts, next_start_at FROM escalations
        WHERE (state = 'requested') OR (state = 'starting' AND updated_at < now() - interval '2 minutes')`,
    );
  }

  /** Reconcile: escalations that time out if no agent joins. */
  waiting(): Promise<{ id: string; timeout_at: Date }[]> {
    return this.db.query(`SELECT id, timeout_at FROM escalations WHERE state IN ('requested', 'starting', 'queued')`);
  }

  /** Reconcile: active escalations waiting for their platform's close after a relay found the session over. */
  awaitingClose(): Promise<{ id: string; session_gone_at: Date }[]> {
    return this.db.query(`SELECT id, session_gone_at FROM escalations WHERE state = 'active' AND session_gone_at IS NOT NULL`);
  }

  /** Retention: one batch of ended escalations deleted with what they stored (see ESCALATION_RETENTION_BATCH). */
  async deleteEnded(before: Date, limit: number): Promise<number> {
    return (await prepared<{ id: string }>(this.db, ESCALATION_RETENTION_BATCH, [before, limit])).length;
  }

  /** The operators' list: count up to the cap (an exact count reads every match for every page), then the page. */
  async list(filter: EscalationFilter, page: number, pageSize: number): Promise<{ rows: EscalationEntity[]; counted: number }> {
    const qb = this.listQuery(filter);
    const [matching, values] = qb.clone().select('1').orderBy().limit(LIST_COUNT_CAP + 1).getQueryAndParameters();
    const [{ counted }]: { counted: number }[] = await this.db.query(`SELECT count(*)::int AS counted FROM (${matching}) m`, values);
    const rows = await qb.offset((page - 1) * pageSize).limit(pageSize).getMany();
    return { rows, counted };
  }

  /** The escalations a filter selects, newest first (without the page: planned as it is by the int tests). */
  listQuery(filter: EscalationFilter): SelectQueryBuilder<EscalationEntity> {
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
}
