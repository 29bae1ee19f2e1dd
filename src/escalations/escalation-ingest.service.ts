import { Injectable } from '@nestjs/common';
import { AgentInfo, AgentOverride, PlatformEvent, PlatformSession } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { DomainError } from '../common/domain-error';
import { combine, Statement } from '../database/combined-statement';
import { EscalationEntity, EscalationState } from '../database/entities';
import { prepared } from '../database/prepared';
import { CLAIM_MS, ConversationRow, DeliveryService, EventRow, HandOff, SIGNING_SECRETS, SigningSecretColumns } from '../delivery/delivery.service';
import { MetricsService } from '../metrics/metrics.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationsRepository } from './escalations.repository';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { storable, storableKeyForms } from '../common/storable-text';

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

/**
 * An ingest's result with where its events went, and the conversation's events claimed for this process to send
 * (`DeliveryService.handOffClaim`; on the first outcome of the conversation in a call).
 */
export type IngestOutcome = IngestResult & { conversationId: string; domainId: string; lastSeq: number; handOff: HandOff | null };

/** One escalation's input to a grouped ingest. */
export interface IngestItem {
  escalationId: string;
  input: IngestInput;
}

/** A conversation's columns ingest reads under its row lock. */
interface ConversationState {
  id: string;
  last_seq: number;
  control: 'bot' | 'agent';
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

/** A claimed conversation's stored event as the ingest's write answers it (one row per event). */
type ClaimedEventRow = EventRow & Omit<ConversationRow, 'id'> & SigningSecretColumns & { conversation_id: string; domain_id: string };

/** Puts each claimed conversation's events on the first outcome of that conversation. */
function attachHandOffs(outcomes: IngestOutcome[], rows: ClaimedEventRow[], claim: string): void {
  const byConversation = new Map<string, HandOff>();
  for (const row of rows) {
    let handOff = byConversation.get(row.conversation_id);
    if (!handOff) {
      handOff = {
        domainId: row.domain_id,
        conversation: { id: row.conversation_id, external_id: row.external_id, delivered_seq: row.delivered_seq, delivery_attempts: row.delivery_attempts, domain: row.domain, callback_url: row.callback_url },
        signingSecret: row.signing_secret,
        previousSigningSecret: row.previous_signing_secret,
        events: [],
        claim,
      };
      byConversation.set(row.conversation_id, handOff);
    }
    handOff.events.push({ id: row.id, seq: row.seq, escalation_id: row.escalation_id, type: row.type, data: row.data, occurred_at: row.occurred_at, created_at: row.created_at });
  }
  for (const outcome of outcomes) {
    const handOff = byConversation.get(outcome.conversationId);
    if (!handOff) continue;
    outcome.handOff = handOff;
    byConversation.delete(outcome.conversationId);
  }
}

/** A conversation and one of its escalations, locked together, with what the lock statement's snapshot saw. */
interface LockedRow extends LockedEscalation, Omit<ConversationState, 'id'> {
  /** The conversation's highest stored sequence number as the statement's snapshot saw it. */
  stored_seq: number;
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
export class EscalationIngestService {
  constructor(
    private readonly repo: EscalationsRepository,
    private readonly policies: EscalationPolicyResolver,
    private readonly jobs: JobDispatcher,
    private readonly delivery: DeliveryService,
    private readonly metrics: MetricsService,
  ) {}

  /** Stores and applies `input` inside the caller's transaction; the caller calls `afterCommit` once it committed. */
  async ingestIn(em: EntityManager, escalationId: string, input: IngestInput): Promise<IngestOutcome> {
    const [outcome] = await this.ingestManyIn(em, [{ escalationId, input }]);
    return outcome;
  }

  /**
   * Stores and applies several escalations' inputs (distinct escalations) inside the caller's transaction, with one
   * statement per step whatever their number: the row locks, then everything written, with `alongside` (the
   * caller's own writes that must commit with the events). Answers in the items' order.
   */
  async ingestManyIn(em: EntityManager, items: IngestItem[], alongside: Statement[] = []): Promise<IngestOutcome[]> {
    const ids = items.map((item) => item.escalationId);
    // The conversations' and escalations' row locks (the columns ingest uses; not the history) and which of the
    // events are stored already, in one statement. The conversation row locks order every writer of a
    // conversation's sequence: taken in conversation id order, each with its escalations, so that two writers cannot
    // lock in opposite orders. Each key is looked up with its own escalation only (one index probe per event):
    // looking every key up in every escalation grew with the square of the number of escalations per call.
    // Keys in every form they may be stored under (`storableKeyForms`: the one stored now first), looked up that way.
    const keyForms = items.map((item) => item.input.events.map((e) => storableKeyForms(e.key)));
    const keyed = items.flatMap((item, i) => keyForms[i].flatMap((forms) => forms.map((key) => [item.escalationId, key])));
    const lockedRows = await prepared<LockedRow>(
      em,
      `SELECT c.last_seq, c.control, x.id, x.state, x.gateway_id, x.domain_id, x.conversation_id, x.queue, x.cursor, x.session_enc,
              ARRAY(SELECT ev.platform_key FROM unnest($2::uuid[], $3::text[]) AS k(escalation_id, platform_key)
                      JOIN events ev ON ev.escalation_id = k.escalation_id AND ev.platform_key = k.platform_key
                     WHERE k.escalation_id = x.id) AS seen,
              (SELECT coalesce(max(seq), 0) FROM events WHERE conversation_id = c.id) AS stored_seq
         FROM conversations c JOIN escalations x ON x.conversation_id = c.id
        WHERE x.id = ANY($1::uuid[]) ORDER BY c.id, x.id FOR UPDATE OF c, x`,
      [ids, keyed.map(([id]) => id), keyed.map(([, key]) => key)],
    );
    // A statement that waited for a lock returns the locked rows as the other writer left them, but its snapshot (the
    // events it looked for) is from before that writer committed: the conversation's last_seq is then ahead of the
    // events the snapshot saw. Those escalations' keys are looked up again, by a new statement, which sees them.
    const stale = new Set(lockedRows.filter((row) => row.stored_seq !== row.last_seq).map((row) => row.id));
    if (stale.size) {
      const staleKeys = keyed.filter(([id]) => stale.has(id));
      const again = await prepared<{ escalation_id: string; platform_key: string }>(
        em,
        `SELECT ev.escalation_id, ev.platform_key FROM unnest($1::uuid[], $2::text[]) AS k(escalation_id, platform_key)
           JOIN events ev ON ev.escalation_id = k.escalation_id AND ev.platform_key = k.platform_key`,
        [staleKeys.map(([id]) => id), staleKeys.map(([, key]) => key)],
      );
      for (const row of lockedRows) if (stale.has(row.id)) row.seen = again.filter((r) => r.escalation_id === row.id).map((r) => r.platform_key);
    }
    const conversations = new Map<string, ConversationState & { prev_seq: number; changed: boolean; closed: boolean }>();
    const conversationOf = new Map<string, string>();
    for (const row of lockedRows) {
      conversations.set(row.conversation_id, { id: row.conversation_id, last_seq: row.last_seq, prev_seq: row.last_seq, control: row.control, changed: false, closed: false });
      conversationOf.set(row.id, row.conversation_id);
    }
    const lockedById = new Map(lockedRows.map((row) => [row.id, row]));

    const rows: unknown[][] = [];
    const escalationSets: { id: string; setCursor: boolean; cursor: string | null; setSession: boolean; session: string | null }[] = [];
    const ended: string[] = [];
    const outcomes: IngestOutcome[] = [];
    // Domains' agent directories, read once per call (a pass's escalations share their gateway's domain).
    const directories = new Map<string, Map<string, string>>();
    for (const [i, { escalationId, input }] of items.entries()) {
      const locked = lockedById.get(escalationId);
      const conversation = conversations.get(conversationOf.get(escalationId) ?? '');
      if (!locked || !conversation) throw DomainError.notFound('Escalation', escalationId);
      const fresh = escalationOf(locked);
      const seen = new Set<string>(locked.seen);
      const before = fresh.state;
      const policy = await this.policies.forGateway(fresh.gatewayId, em);

      if (input.transition) await this.repo.transition(em, fresh, input.transition.to, input.transition.reason, input.transition.fields);

      const directory = directories.get(fresh.domainId) ?? new Map<string, string>();
      if (!directories.has(fresh.domainId) && policy.agentOverride === 'lookup_agent_by_email' && input.events.some((e) => 'agent' in (e.data as object))) {
        for (const row of await em.query(`SELECT email, display_name FROM agent_directory WHERE domain_id = $1`, [fresh.domainId])) directory.set(row.email, row.display_name);
        directories.set(fresh.domainId, directory);
      }
      let stored = 0;
      for (const [j, event] of input.events.entries()) {
        const forms = keyForms[i][j];
        if (forms.some((form) => seen.has(form))) continue;
        const key = forms[0];
        seen.add(key);
        const data = await this.prepareData(em, fresh, event, policy.agentOverride, directory);
        const effect = await this.applyEffect(em, fresh, event, policy.transferBackOnAgentClose);
        if (effect.control && effect.control !== conversation.control) {
          conversation.control = effect.control;
          conversation.changed = true;
        }
        if (effect.closeConversation) conversation.closed = conversation.changed = true;
        if (effect.extra) Object.assign(data, effect.extra);
        conversation.last_seq += 1;
        conversation.changed = true;
        stored += 1;
        rows.push([fresh.conversationId, conversation.last_seq, escalationId, event.type, JSON.stringify(storable(data)), key, event.occurredAt]);
        this.metrics.eventsStored.inc({ type: event.type });
      }
      const setCursor = input.cursor !== undefined && input.cursor !== fresh.cursor;
      const session = input.session ? this.repo.sealSession({ ...(this.repo.session(fresh) ?? {}), ...input.session }) : null;
      if (setCursor || session) escalationSets.push({ id: escalationId, setCursor, cursor: setCursor ? input.cursor ?? null : null, setSession: session !== null, session });
      if (FINAL.includes(fresh.state) && !FINAL.includes(before)) ended.push(escalationId);
      outcomes.push({
        stored,
        state: fresh.state,
        becameOpenForRelay: OPEN_FOR_RELAY.includes(fresh.state) && !OPEN_FOR_RELAY.includes(before),
        becameFinal: FINAL.includes(fresh.state) && !FINAL.includes(before),
        conversationId: fresh.conversationId,
        domainId: fresh.domainId,
        lastSeq: conversation.last_seq,
        handOff: null,
      });
    }
    // Everything the ingest writes, in one statement. The joins with unnest() also name their rows with `= ANY`, so
    // that a prepared statement's generic plan looks them up by key whatever the number of rows it assumes.
    const writes: Statement[] = [...alongside];
    // Stored events are claimed for this process to send when it can (see DeliveryService.handOffClaim).
    const claim = rows.length ? this.delivery.handOffClaim(conversations.size) : null;
    const insertAt = writes.length;
    if (rows.length) {
      writes.push({
        // In sequence order, so that ids (the global stream's order) follow it too.
        sql: `INSERT INTO events (conversation_id, seq, escalation_id, type, data, platform_key, occurred_at)
              SELECT c, s, e, t, d, k, o
                FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[])
                     WITH ORDINALITY AS r(c, s, e, t, d, k, o, n)
               ORDER BY n
              RETURNING id, conversation_id, seq, escalation_id, type, data, occurred_at, created_at`,
        values: [0, 1, 2, 3, 4, 5, 6].map((column) => rows.map((row) => row[column])),
      });
    }
    if (escalationSets.length) {
      writes.push({
        sql: `UPDATE escalations x SET cursor = CASE WHEN u.set_cursor THEN u.cursor ELSE x.cursor END,
                     session_enc = CASE WHEN u.set_session THEN u.session ELSE x.session_enc END, updated_at = now()
                FROM unnest($1::uuid[], $2::bool[], $3::text[], $4::bool[], $5::text[]) AS u(id, set_cursor, cursor, set_session, session)
               WHERE x.id = u.id AND x.id = ANY($1::uuid[])`,
        values: [escalationSets.map((e) => e.id), escalationSets.map((e) => e.setCursor), escalationSets.map((e) => e.cursor), escalationSets.map((e) => e.setSession), escalationSets.map((e) => e.session)],
      });
    }
    const changed = [...conversations.values()].filter((c) => c.changed);
    const updateAt = writes.length;
    if (changed.length) {
      // A conversation is claimed with its new events when they are the next to deliver (everything before them is
      // delivered) and nothing holds it or makes it wait: the conditions of a pass's claim.
      const claimable = `$5::uuid IS NOT NULL AND u.seq > u.prev_seq AND c.delivered_seq = u.prev_seq
          AND (c.delivery_claimed_until IS NULL OR c.delivery_claimed_until <= now()) AND (c.next_delivery_at IS NULL OR c.next_delivery_at <= now())`;
      writes.push({
        sql: `UPDATE conversations c SET last_seq = u.seq, control = u.control, closed_at = CASE WHEN u.closed THEN now() ELSE c.closed_at END, updated_at = now(),
                     delivery_claim = CASE WHEN ${claimable} THEN $5::uuid ELSE c.delivery_claim END,
                     delivery_claimed_until = CASE WHEN ${claimable} THEN clock_timestamp() + ($6 || ' milliseconds')::interval ELSE c.delivery_claimed_until END
                FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bool[], $7::int[]) AS u(id, seq, control, closed, prev_seq)
               WHERE c.id = u.id AND c.id = ANY($1::uuid[])
              RETURNING c.id, c.domain_id, c.external_id, c.delivered_seq, c.delivery_attempts, c.delivery_claim = $5::uuid AS claimed`,
        values: [changed.map((c) => c.id), changed.map((c) => c.last_seq), changed.map((c) => c.control), changed.map((c) => c.closed), claim, String(CLAIM_MS), changed.map((c) => c.prev_seq)],
      });
    }
    if (ended.length) {
      writes.push({
        sql: `UPDATE relay_commands SET status = 'skipped', last_error = 'escalation ended before it was sent' WHERE escalation_id = ANY($1::uuid[]) AND status = 'pending'`,
        values: [ended],
      });
    }
    if (claim && rows.length && changed.length) {
      // The claimed conversations with their new events, from the two statements above (the WITH clauses w<n>).
      writes.push({
        sql: `SELECT cv.id AS conversation_id, cv.domain_id, cv.external_id, cv.delivered_seq, cv.delivery_attempts,
                     d.name AS domain, d.callback_url, ${SIGNING_SECRETS},
                     ev.id, ev.seq, ev.escalation_id, ev.type, ev.data, ev.occurred_at, ev.created_at
                FROM w${updateAt} cv JOIN domains d ON d.id = cv.domain_id JOIN w${insertAt} ev ON ev.conversation_id = cv.id
               WHERE cv.claimed ORDER BY cv.id, ev.seq`,
        values: [],
      });
    }
    if (writes.length) {
      const { sql, values: all } = combine(writes);
      const answered = await prepared<ClaimedEventRow>(em, sql, all);
      if (claim) attachHandOffs(outcomes, answered, claim);
    }
    return outcomes;
  }

  /** Work that must follow the commit: delivery of stored events, relay of messages that waited for the session. */
  async afterCommit(escalationId: string, result: IngestOutcome): Promise<void> {
    await this.afterCommitMany([{ escalationId, result }]);
  }

  /**
   * `afterCommit` for several ingests: the conversations the ingest claimed are sent at once, and one delivery pass
   * is triggered per domain with events stored in conversations it could not claim.
   */
  async afterCommitMany(done: { escalationId: string; result: IngestOutcome }[]): Promise<void> {
    const handOffs = done.flatMap(({ result }) => (result.handOff ? [result.handOff] : []));
    if (handOffs.length) this.delivery.adopt(handOffs);
    const claimed = new Set(handOffs.map((handOff) => handOff.conversation.id));
    const domains = new Set(done.filter(({ result }) => result.stored > 0 && !claimed.has(result.conversationId)).map(({ result }) => result.domainId));
    for (const domainId of domains) await this.delivery.trigger(domainId);
    for (const { escalationId, result } of done) if (result.becameOpenForRelay) await this.jobs.relay(escalationId, `open-${Date.now()}`);
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
   * Agent Override (PureEngage gateway's product documentation): what the bot platform is told about the agent's name.
   * "Lookup Agent by Email" looks the agent's e-mail (or, when the platform reports none, a name that is an e-mail
   * address) up in the domain's agent directory and falls back to the platform's name.
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
        // As the PureEngage gateway's product documentation has it: when the agent closes, control returns to the bot
        // if "transfer back" is on; otherwise the conversation is closed. A user who left closes it too; a timeout or a
        // system end hands it back.
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

