import { Injectable } from '@nestjs/common';
import { AgentInfo, AgentOverride, PlatformEvent, PlatformSession } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { DomainError } from '../common/domain-error';
import { EscalationEntity, EscalationState } from '../database/entities';
import { prepared } from '../database/prepared';
import { MetricsService } from '../metrics/metrics.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationsRepository } from './escalations.repository';
import { JobDispatcher } from './job-dispatcher.service';

/** What a gateway call reported, plus what the engine itself decided (service events and a forced state). */
export interface IngestInput {
  events: PlatformEvent[];
  cursor?: string | null;
  session?: PlatformSession;
  /** A state the engine moves to before applying events (e.g. `queued` after a successful start). */
  transition?: { to: EscalationState; reason: string; fields?: Record<string, unknown> };
}

export interface IngestResult {
  stored: number;
  state: EscalationState;
  becameOpenForRelay: boolean;
  becameFinal: boolean;
}

/** An ingest's result with where its events went. */
export type IngestOutcome = IngestResult & { conversationId: string; domainId: string; lastSeq: number };

/** One SQL statement with its parameters ($1 is its own first value). */
interface Statement {
  sql: string;
  values: unknown[];
}

/**
 * Data-modifying statements as one: all but the last become WITH clauses, their parameters renumbered after those
 * before them. PostgreSQL runs every clause of such a statement, on one snapshot, in one round trip. (The statements
 * here have no `$` but their parameters.)
 */
export function combine(statements: Statement[]): Statement {
  const values: unknown[] = [];
  const parts = statements.map(({ sql, values: own }) => {
    const offset = values.length;
    values.push(...own);
    return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  });
  const last = parts.pop()!;
  const sql = parts.length ? `WITH ${parts.map((part, i) => `w${i} AS (${part})`).join(', ')} ${last}` : last;
  return { sql, values };
}

/** The escalation columns ingest uses (not the history), read with its row lock. */
interface LockedEscalation {
  id: string;
  state: EscalationState;
  gateway_id: string;
  domain_id: string;
  conversation_id: string;
  queue: string | null;
  cursor: string | null;
  session_enc: string | null;
  /** Which of the incoming events' platform keys are stored already. */
  seen: string[];
}

/** The locked columns as an entity (the other columns unset), as `transition` and the session helpers take it. */
function escalationOf(row: LockedEscalation): EscalationEntity {
  return Object.assign(new EscalationEntity(), {
    id: row.id,
    state: row.state,
    gatewayId: row.gateway_id,
    domainId: row.domain_id,
    conversationId: row.conversation_id,
    queue: row.queue,
    cursor: row.cursor,
    sessionEnc: row.session_enc,
  });
}

const OPEN_FOR_RELAY: EscalationState[] = ['queued', 'active'];
const FINAL: EscalationState[] = ['ended', 'failed', 'timed_out'];

/**
 * Stores platform events exactly once, in per-conversation order, and applies their effect on the escalation
 * (state, control, agent) in the same transaction as the cursor and session, then schedules delivery.
 */
@Injectable()
export class EventIngestService {
  constructor(
    private readonly repo: EscalationsRepository,
    private readonly policies: EscalationPolicyResolver,
    private readonly jobs: JobDispatcher,
    private readonly metrics: MetricsService,
  ) {}

  /** Stores and applies `input` inside the caller's transaction; the caller calls `afterCommit` once it committed. */
  async ingestIn(em: EntityManager, escalationId: string, input: IngestInput): Promise<IngestOutcome> {
    // The conversation row lock orders every writer of this conversation's sequence (taken first, always, so two
    // writers cannot lock the escalation and the conversation in opposite orders).
    const [conversation] = await prepared<{ id: string; last_seq: number; control: 'bot' | 'agent' }>(
      em,
      `SELECT c.id, c.last_seq, c.control FROM conversations c JOIN escalations e ON e.conversation_id = c.id WHERE e.id = $1 FOR UPDATE OF c`,
      [escalationId],
    );
    if (!conversation) throw DomainError.notFound('Escalation', escalationId);
    // The escalation's row lock (the columns ingest uses; not the history) and which of the events are stored
    // already, in one statement. Its snapshot is taken with the conversation lock held, and every writer of events
    // holds that lock, so it sees every event stored before.
    const keys = input.events.map((e) => e.key);
    const [locked] = await prepared<LockedEscalation>(
      em,
      `SELECT id, state, gateway_id, domain_id, conversation_id, queue, cursor, session_enc,
              ARRAY(SELECT platform_key FROM events WHERE escalation_id = $1 AND platform_key = ANY($2::text[])) AS seen
         FROM escalations WHERE id = $1 FOR UPDATE`,
      [escalationId, keys],
    );
    const fresh = locked ? escalationOf(locked) : undefined;
    if (!fresh) throw DomainError.notFound('Escalation', escalationId);
    const seen = new Set<string>(locked.seen);
    const before = fresh.state;
    const policy = await this.policies.forGateway(fresh.gatewayId, em);

    if (input.transition) await this.repo.transition(em, fresh, input.transition.to, input.transition.reason, input.transition.fields);

    const directory = new Map<string, string>();
    if (policy.agentOverride === 'lookup_agent_by_email' && input.events.some((e) => 'agent' in (e.data as object))) {
      for (const row of await em.query(`SELECT email, display_name FROM agent_directory WHERE domain_id = $1`, [fresh.domainId])) directory.set(row.email, row.display_name);
    }
    let seq: number = conversation.last_seq;
    let control: 'bot' | 'agent' = conversation.control;
    let closed = false;
    const rows: unknown[][] = [];
    for (const event of input.events) {
      if (seen.has(event.key)) continue;
      seen.add(event.key);
      const data = await this.prepareData(em, fresh, event, policy.agentOverride, directory);
      const effect = await this.applyEffect(em, fresh, event, policy.transferBackOnAgentClose);
      if (effect.control) control = effect.control;
      if (effect.closeConversation) closed = true;
      if (effect.extra) Object.assign(data, effect.extra);
      seq += 1;
      rows.push([fresh.conversationId, seq, escalationId, event.type, JSON.stringify(data), event.key, event.occurredAt]);
      this.metrics.eventsStored.inc({ type: event.type });
    }
    // Everything the ingest writes, in one statement.
    const writes: Statement[] = [];
    if (rows.length) {
      writes.push({
        // In sequence order, so that ids (the global stream's order) follow it too.
        sql: `INSERT INTO events (conversation_id, seq, escalation_id, type, data, platform_key, occurred_at)
              SELECT c, s, e, t, d, k, o
                FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[])
                     WITH ORDINALITY AS r(c, s, e, t, d, k, o, n)
               ORDER BY n`,
        values: [0, 1, 2, 3, 4, 5, 6].map((column) => rows.map((row) => row[column])),
      });
    }
    const sets: string[] = [];
    const values: unknown[] = [escalationId];
    if (input.cursor !== undefined && input.cursor !== fresh.cursor) {
      values.push(input.cursor);
      sets.push(`cursor = $${values.length}`);
    }
    if (input.session) {
      const merged = { ...(this.repo.session(fresh) ?? {}), ...input.session };
      values.push(this.repo.sealSession(merged));
      sets.push(`session_enc = $${values.length}`);
    }
    if (sets.length) writes.push({ sql: `UPDATE escalations SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, values });
    if (rows.length || control !== conversation.control || closed) {
      writes.push({
        sql: `UPDATE conversations SET last_seq = $2, control = $3, closed_at = CASE WHEN $4 THEN now() ELSE closed_at END, updated_at = now() WHERE id = $1`,
        values: [fresh.conversationId, seq, control, closed],
      });
    }
    if (FINAL.includes(fresh.state) && !FINAL.includes(before)) {
      writes.push({
        sql: `UPDATE relay_commands SET status = 'skipped', last_error = 'escalation ended before it was sent' WHERE escalation_id = $1 AND status = 'pending'`,
        values: [escalationId],
      });
    }
    if (writes.length) {
      const { sql, values: all } = combine(writes);
      await prepared(em, sql, all);
    }
    return {
      stored: rows.length,
      state: fresh.state,
      becameOpenForRelay: OPEN_FOR_RELAY.includes(fresh.state) && !OPEN_FOR_RELAY.includes(before),
      becameFinal: FINAL.includes(fresh.state) && !FINAL.includes(before),
      conversationId: fresh.conversationId,
      domainId: fresh.domainId,
      lastSeq: seq,
    };
  }

  /** Work that must follow the commit: delivery of stored events, relay of messages that waited for the session. */
  async afterCommit(escalationId: string, result: IngestOutcome): Promise<void> {
    if (result.stored > 0) await this.jobs.deliverNew(result.domainId);
    if (result.becameOpenForRelay) await this.jobs.relay(escalationId, `open-${Date.now()}`);
  }

  private async prepareData(
    em: EntityManager,
    escalation: EscalationEntity,
    event: PlatformEvent,
    override: AgentOverride,
    directory: Map<string, string>,
  ): Promise<Record<string, unknown>> {
    const data: Record<string, unknown> = { ...(event.data as Record<string, unknown>) };
    if ('agent' in data && data.agent) data.agent = this.displayAgent(data.agent as AgentInfo, override, directory);
    if (event.type === 'attachment') {
      const file = event.data.attachment;
      const [row] = await em.query(
        `INSERT INTO attachments (escalation_id, direction, name, mime_type, size, content) VALUES ($1, 'from_agent', $2, $3, $4, $5) RETURNING id`,
        [escalation.id, file.name, file.mimeType, file.content.length, file.content],
      );
      data.attachment = { id: row.id, name: file.name, mimeType: file.mimeType, size: file.content.length, url: `/v1/escalations/${escalation.id}/attachments/${row.id}` };
    }
    return data;
  }

  /**
   * Agent Override (seed 001): what the bot platform is told about the agent's name. "Lookup Agent by Email" looks
   * the agent's e-mail (or, when the platform reports none, a name that is an e-mail address) up in the domain's
   * agent directory and falls back to the platform's name.
   */
  private displayAgent(agent: AgentInfo, override: AgentOverride, directory: Map<string, string>): Record<string, unknown> {
    switch (override) {
      case 'none':
        return { id: agent.id ?? null, displayName: null };
      case 'lookup_agent_by_email': {
        const email = (agent.email ?? (agent.name?.includes('@') ? agent.name : undefined))?.toLowerCase();
        const found = email ? directory.get(email) : undefined;
        return { id: agent.id ?? null, email: email ?? null, displayName: found ?? agent.name ?? null, directoryMatch: found !== undefined };
      }
      default:
        return { id: agent.id ?? null, displayName: agent.name ?? null };
    }
  }

  private async applyEffect(
    em: EntityManager,
    escalation: EscalationEntity,
    event: PlatformEvent,
    transferBack: boolean,
  ): Promise<{ control?: 'bot' | 'agent'; closeConversation?: boolean; extra?: Record<string, unknown> }> {
    switch (event.type) {
      case 'queued': {
        const queue = event.data.queueId ?? event.data.queueName ?? escalation.queue;
        const changed = escalation.state === 'queued' && queue !== escalation.queue;
        if (escalation.state !== 'queued' || changed) {
          const reason = escalation.state === 'active' ? 'transferred by agent' : changed ? 'queue changed' : 'queued on the platform';
          await this.repo.transition(em, escalation, 'queued', reason, { queue: queue ?? null });
          escalation.queue = queue ?? null;
        }
        return {};
      }
      case 'agent_joined':
        await this.repo.transition(em, escalation, 'active', 'agent joined', { agent: JSON.stringify(event.data.agent) });
        return { control: 'agent' };
      case 'transferred':
        if (escalation.state === 'active') await this.repo.transition(em, escalation, 'queued', 'transferred', { queue: event.data.toQueueId ?? escalation.queue });
        return {};
      case 'ended': {
        const by = event.data.by;
        const moved = await this.repo.transition(em, escalation, by === 'timeout' ? 'timed_out' : 'ended', `ended by ${by}${event.data.reason ? `: ${event.data.reason}` : ''}`, {
          ended_by: by,
          end_reason: event.data.reason ?? null,
        });
        if (!moved) return {};
        // Seed 001: when the agent closes, control returns to the bot if "transfer back" is on; otherwise the
        // conversation is closed. A user who left closes it too; a timeout or a system end hands it back.
        const closes = (by === 'agent' && !transferBack) || by === 'user';
        return { control: 'bot', closeConversation: closes, extra: { controlReturnedToBot: !closes, conversationClosed: closes } };
      }
      case 'failed': {
        const moved = await this.repo.transition(em, escalation, 'failed', event.data.reason, { failure_reason: event.data.reason });
        return moved ? { control: 'bot', extra: { controlReturnedToBot: true } } : {};
      }
      default:
        return {};
    }
  }
}

