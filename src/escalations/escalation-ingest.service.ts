import { Injectable } from '@nestjs/common';
import { AgentInfo, AgentOverride, PlatformEvent, PlatformSession } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { DomainError } from '../common/domain-error';
import { storable, storableKeyForms } from '../common/storable-text';
import { ConversationAdvance, ConversationsRepository, EventRowInput } from '../conversations/conversations.repository';
import { Statement } from '../database/combined-statement';
import { EscalationEntity, EscalationState } from '../database/entities';
import { DeliveryClaimsRepository, HandOffRow } from '../delivery/delivery-claims.repository';
import { DeliveryService } from '../delivery/delivery.service';
import { HandOff } from '../delivery/delivery.types';
import { DomainsService } from '../domains/domains.service';
import { MetricsService } from '../metrics/metrics.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { AttachmentsRepository } from './attachments.repository';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationsRepository, IngestLockRow } from './escalations.repository';
import { RelayCommandsRepository } from './relay-commands.repository';
import { AfterCommit, StoredEscalationEvents, SwitchboardHooksRegistry } from './switchboard-hooks';

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
export type IngestOutcome = IngestResult & {
  conversationId: string;
  domainId: string;
  lastSeq: number;
  handOff: HandOff | null;
  /** The events this ingest stored. */
  storedEvents: StoredEscalationEvents['events'];
  /** What the switchboard does once the ingest committed (on the first outcome of a call only). */
  switchboardAfterCommit: AfterCommit | null;
};

/** One escalation's input to a grouped ingest. */
export interface IngestItem {
  escalationId: string;
  input: IngestInput;
}

/** A conversation as an ingest moves it on: its sequence, control, and whether it changed or closed. */
type ConversationState = ConversationAdvance & { changed: boolean };

/** The locked columns as an entity (the other columns unset), as `transition` and the session helpers take it. */
function escalationOf(row: IngestLockRow): EscalationEntity {
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
 * Stores platform events of escalations exactly once, in per-conversation order, and applies their effect on the
 * escalation (state, control, agent) in the same transaction as the cursor and session, then hands them to delivery.
 * The conversation core numbers and stores them; this adds what they mean for an escalation.
 */
@Injectable()
export class EscalationIngestService {
  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly relay: RelayCommandsRepository,
    private readonly attachments: AttachmentsRepository,
    private readonly policies: EscalationPolicyResolver,
    private readonly domains: DomainsService,
    private readonly jobs: JobDispatcher,
    private readonly delivery: DeliveryService,
    private readonly claims: DeliveryClaimsRepository,
    private readonly metrics: MetricsService,
    private readonly hooks: SwitchboardHooksRegistry,
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
    // Keys in every form they may be stored under (`storableKeyForms`: the one stored now first), looked up that way,
    // each with its own escalation only (one index probe per event).
    const keyForms = items.map((item) => item.input.events.map((e) => storableKeyForms(e.key)));
    const keyed = items.flatMap((item, i) => keyForms[i].flatMap((forms) => forms.map((key) => [item.escalationId, key] as [string, string])));
    const lockedRows = await this.escalations.lockForIngest(
      em,
      items.map((item) => item.escalationId),
      keyed,
    );
    // A statement that waited for a lock returns the locked rows as the other writer left them, but its snapshot (the
    // events it looked for) is from before that writer committed: the conversation's last_seq is then ahead of the
    // events the snapshot saw. Those escalations' keys are looked up again, by a new statement, which sees them.
    const stale = new Set(lockedRows.filter((row) => row.stored_seq !== row.last_seq).map((row) => row.id));
    if (stale.size) {
      const again = await this.conversations.storedKeys(
        em,
        keyed.filter(([id]) => stale.has(id)),
      );
      for (const row of lockedRows) if (stale.has(row.id)) row.seen = again.filter((r) => r.escalation_id === row.id).map((r) => r.platform_key);
    }
    const conversations = new Map<string, ConversationState>();
    for (const row of lockedRows) {
      conversations.set(row.conversation_id, { id: row.conversation_id, lastSeq: row.last_seq, prevSeq: row.last_seq, control: row.control, closed: false, changed: false });
    }
    const lockedById = new Map(lockedRows.map((row) => [row.id, row]));

    const rows: EventRowInput[] = [];
    const escalationSets: { id: string; setCursor: boolean; cursor: string | null; setSession: boolean; session: string | null }[] = [];
    const ended: string[] = [];
    const outcomes: IngestOutcome[] = [];
    const onChannel: StoredEscalationEvents[] = [];
    // Domains' agent directories, read once per call (a pass's escalations share their gateway's domain).
    const directories = new Map<string, Map<string, string>>();
    for (const [i, { escalationId, input }] of items.entries()) {
      const locked = lockedById.get(escalationId);
      const conversation = locked && conversations.get(locked.conversation_id);
      if (!locked || !conversation) throw DomainError.notFound('Escalation', escalationId);
      const fresh = escalationOf(locked);
      const seen = new Set<string>(locked.seen);
      const before = fresh.state;
      const policy = await this.policies.forGateway(fresh.gatewayId, em);

      if (input.transition) await this.escalations.transition(em, fresh, input.transition.to, input.transition.reason, input.transition.fields);

      let directory = directories.get(fresh.domainId);
      if (!directory && policy.agentOverride === 'lookup_agent_by_email' && input.events.some((e) => 'agent' in (e.data as object))) {
        directory = await this.domains.agentDirectory(fresh.domainId, em);
        directories.set(fresh.domainId, directory);
      }
      let stored = 0;
      const storedEvents: StoredEscalationEvents['events'] = [];
      for (const [j, event] of input.events.entries()) {
        const forms = keyForms[i][j];
        if (forms.some((form) => seen.has(form))) continue;
        const key = forms[0];
        seen.add(key);
        const data = await this.prepareData(em, fresh, event, policy.agentOverride, directory ?? new Map());
        const effect = await this.applyEffect(em, fresh, event, policy.transferBackOnAgentClose);
        if (effect.control && effect.control !== conversation.control) {
          conversation.control = effect.control;
          conversation.changed = true;
        }
        if (effect.closeConversation) conversation.closed = conversation.changed = true;
        if (effect.extra) Object.assign(data, effect.extra);
        conversation.lastSeq += 1;
        conversation.changed = true;
        stored += 1;
        rows.push({ conversationId: fresh.conversationId, seq: conversation.lastSeq, escalationId, type: event.type, data: JSON.stringify(storable(data)), platformKey: key, occurredAt: event.occurredAt });
        storedEvents.push({ seq: conversation.lastSeq, type: event.type, data });
        this.metrics.eventsStored.inc({ type: event.type });
      }
      const setCursor = input.cursor !== undefined && input.cursor !== fresh.cursor;
      const session = input.session ? this.escalations.sealSession({ ...(this.escalations.session(fresh) ?? {}), ...input.session }) : null;
      if (setCursor || session) escalationSets.push({ id: escalationId, setCursor, cursor: setCursor ? (input.cursor ?? null) : null, setSession: session !== null, session });
      if (FINAL.includes(fresh.state) && !FINAL.includes(before)) ended.push(escalationId);
      outcomes.push({
        stored,
        state: fresh.state,
        becameOpenForRelay: OPEN_FOR_RELAY.includes(fresh.state) && !OPEN_FOR_RELAY.includes(before),
        becameFinal: FINAL.includes(fresh.state) && !FINAL.includes(before),
        conversationId: fresh.conversationId,
        domainId: fresh.domainId,
        lastSeq: conversation.lastSeq,
        handOff: null,
        storedEvents,
        switchboardAfterCommit: null,
      });
      if (locked.on_channel && storedEvents.length) onChannel.push({ conversationId: fresh.conversationId, domainId: fresh.domainId, escalationId, events: storedEvents });
    }
    await this.write(em, rows, escalationSets, [...conversations.values()], ended, alongside, outcomes);
    // In the same transaction as the events (after them: an outbound message names its event's sequence), so that
    // the agent's messages reach the channel's user exactly when they are stored. Only channel conversations come
    // here, known from the lock above: classic escalations pay nothing.
    if (onChannel.length && outcomes.length) outcomes[0].switchboardAfterCommit = await this.hooks.escalationEventsStoring(em, onChannel);
    return outcomes;
  }

  /**
   * Everything the ingest writes, in one statement: the caller's writes, the events, the escalations' cursors and
   * sessions, the conversations moved on (claimed for this process's delivery when it can send them), the relay
   * commands of ended escalations skipped, and the claimed conversations' events read back for delivery.
   */
  private async write(
    em: EntityManager,
    rows: EventRowInput[],
    escalationSets: Parameters<EscalationsRepository['cursorAndSessionStatement']>[0],
    conversations: ConversationState[],
    ended: string[],
    alongside: Statement[],
    outcomes: IngestOutcome[],
  ): Promise<void> {
    const writes: Statement[] = [...alongside];
    const changed = conversations.filter((c) => c.changed);
    const claim = rows.length ? this.delivery.handOffClaim(conversations.length) : null;
    const insertAt = writes.length;
    if (rows.length) writes.push(this.conversations.insertEventsStatement(rows));
    if (escalationSets.length) writes.push(this.escalations.cursorAndSessionStatement(escalationSets));
    const advanceAt = writes.length;
    if (changed.length) writes.push(this.conversations.advanceStatement(changed, claim ? this.claims.handOffExtension(claim) : undefined));
    if (ended.length) writes.push(this.relay.skipPendingStatement(ended));
    if (claim && rows.length && changed.length) writes.push(this.claims.handOffSelect(`w${advanceAt}`, `w${insertAt}`));
    if (!writes.length) return;
    const answered = await this.escalations.runCombined<HandOffRow>(em, writes);
    if (!claim) return;
    const handOffs = this.delivery.handOffsFrom(answered, claim);
    // Each claimed conversation's events go with the first outcome of that conversation.
    for (const outcome of outcomes) {
      const handOff = handOffs.get(outcome.conversationId);
      if (!handOff) continue;
      outcome.handOff = handOff;
      handOffs.delete(outcome.conversationId);
    }
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
    // Only wakes channel senders: what they send is stored already (a lost wake-up is redone by the reconcile pass).
    for (const { result } of done) if (result.switchboardAfterCommit) await result.switchboardAfterCommit();
  }

  private async prepareData(em: EntityManager, escalation: EscalationEntity, event: PlatformEvent, override: AgentOverride, directory: Map<string, string>): Promise<Record<string, unknown>> {
    const data: Record<string, unknown> = { ...(event.data as Record<string, unknown>) };
    if ('agent' in data && data.agent) data.agent = this.displayAgent(data.agent as AgentInfo, override, directory);
    if (event.type === 'attachment') {
      const file = event.data.attachment;
      const id = await this.attachments.add(em, { escalationId: escalation.id, direction: 'from_agent', name: file.name, mimeType: file.mimeType, content: file.content });
      data.attachment = { id, name: file.name, mimeType: file.mimeType, size: file.content.length, url: `/v1/escalations/${escalation.id}/attachments/${id}` };
    }
    return data;
  }

  /**
   * Agent Override (the PureEngage gateway's product documentation): what the bot platform is told about the
   * agent's name. "Lookup Agent by Email" looks the agent's e-mail (or, when the platform reports none, a name that
   * is an e-mail address) up in the domain's agent directory and falls back to the platform's name.
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
          await this.escalations.transition(em, escalation, 'queued', reason, { queue: queue ?? null });
          escalation.queue = queue ?? null;
        }
        return {};
      }
      case 'agent_joined':
        await this.escalations.transition(em, escalation, 'active', 'agent joined', { agent: JSON.stringify(event.data.agent) });
        return { control: 'agent' };
      case 'transferred':
        if (escalation.state === 'active') await this.escalations.transition(em, escalation, 'queued', 'transferred', { queue: event.data.toQueueId ?? escalation.queue });
        return {};
      case 'ended': {
        const by = event.data.by;
        const moved = await this.escalations.transition(em, escalation, by === 'timeout' ? 'timed_out' : 'ended', `ended by ${by}${event.data.reason ? `: ${event.data.reason}` : ''}`, {
          ended_by: by,
          end_reason: event.data.reason ?? null,
        });
        if (!moved) return {};
        // The PureEngage gateway's product documentation: when the agent closes, control returns to the bot if
        // "transfer back" is on; otherwise the conversation is closed. A user who left closes it too; a timeout or
        // a system end hands it back.
        const closes = (by === 'agent' && !transferBack) || by === 'user';
        return { control: 'bot', closeConversation: closes, extra: { controlReturnedToBot: !closes, conversationClosed: closes } };
      }
      case 'failed': {
        const moved = await this.escalations.transition(em, escalation, 'failed', event.data.reason, { failure_reason: event.data.reason });
        return moved ? { control: 'bot', extra: { controlReturnedToBot: true } } : {};
      }
      default:
        return {};
    }
  }
}
