import { AgentOverride, PlatformEvent } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { storableKeyForms } from '../common/storable-text';
import { AdvanceExtension, ConversationAdvance, ConversationsRepository, EventRowInput } from '../conversations/conversations.repository';
import { Statement } from '../database/combined-statement';
import { EscalationEntity, EscalationState } from '../database/entities';
import { DeliveryClaimsRepository, HandOffRow } from '../delivery/delivery-claims.repository';
import { DeliveryService } from '../delivery/delivery.service';
import { HandOff } from '../delivery/delivery.types';
import { DomainsService } from '../domains/domains.service';
import { MetricsService } from '../metrics/metrics.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { AttachmentsRepository } from './attachments.repository';
import { SwitchboardHooksRegistry } from './switchboard-hooks';
import { EscalationIngestService, IngestInput, IngestItem } from './escalation-ingest.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { canTransition } from './escalation-state';
import { EscalationsRepository, IngestLockRow } from './escalations.repository';
import { RelayCommandsRepository } from './relay-commands.repository';

const em = {} as EntityManager;
const AT = new Date('2026-12-07T10:00:00.000Z');

const ev = {
  message: (key: string, text = key): PlatformEvent => ({ type: 'agent_message', key, occurredAt: AT, data: { text } }),
  joined: (key: string, name = 'Grace'): PlatformEvent => ({ type: 'agent_joined', key, occurredAt: AT, data: { agent: { id: 'a-1', name } } }),
  ended: (key: string, by: 'agent' | 'user' | 'timeout' | 'system'): PlatformEvent => ({ type: 'ended', key, occurredAt: AT, data: { by } }),
};

interface StoredEvent {
  conversationId: string;
  seq: number;
  escalationId: string | null;
  type: string;
  data: Record<string, unknown>;
  platformKey: string;
}

/**
 * The rows an ingest reads and writes, in memory. The statement builders answer statements named by what they
 * write (`sql` is that name, `values` what they were given); `runCombined` applies them in order, as the one
 * statement would, and keeps their names so that a test can read the composition.
 */
class IngestWorld {
  escalations = new Map<string, { id: string; state: EscalationState; gatewayId: string; domainId: string; conversationId: string; queue: string | null; cursor: string | null; sessionEnc: string | null }>();
  conversations = new Map<string, { lastSeq: number; control: 'bot' | 'agent'; closed: boolean; claim: string | null }>();
  events: StoredEvent[] = [];
  transitions: { escalationId: string; from: EscalationState; to: EscalationState; reason: string }[] = [];
  relaySkipped: string[] = [];
  policy = { transferBackOnAgentClose: true, agentOverride: 'agent_name_only' as AgentOverride };
  /** The token `DeliveryService.handOffClaim` answers (null: this process cannot send now). */
  claimToken: string | null = null;
  claimAsked: number[] = [];
  /** A lock that waited for another writer answers the keys of the snapshot from before that writer's commit. */
  staleSnapshot = false;
  /** Each combined statement's parts, by name. */
  combined: Statement[][] = [];
  adopted: HandOff[] = [];
  triggered: string[] = [];
  relayJobs: string[] = [];
  eventsCounted = 0;

  escalation(id: string, conversationId: string, state: EscalationState, fields: { domainId?: string; cursor?: string | null } = {}) {
    this.escalations.set(id, { id, state, gatewayId: 'gw-1', domainId: fields.domainId ?? 'dom-1', conversationId, queue: null, cursor: fields.cursor ?? null, sessionEnc: null });
  }

  conversation(id: string, lastSeq = 0, control: 'bot' | 'agent' = 'bot') {
    this.conversations.set(id, { lastSeq, control, closed: false, claim: null });
    this.events = this.events.filter((e) => e.conversationId !== id);
    for (let seq = 1; seq <= lastSeq; seq++) this.events.push({ conversationId: id, seq, escalationId: null, type: 'notice', data: {}, platformKey: `earlier-${seq}` });
  }

  stored(escalationId: string, platformKey: string) {
    const { conversationId } = this.escalations.get(escalationId)!;
    const conversation = this.conversations.get(conversationId)!;
    conversation.lastSeq += 1;
    this.events.push({ conversationId, seq: conversation.lastSeq, escalationId, type: 'agent_message', data: {}, platformKey });
  }

  eventsOf(conversationId: string, after = 0): { seq: number; type: string; key: string; escalationId: string | null }[] {
    return this.events.filter((e) => e.conversationId === conversationId && e.seq > after).map((e) => ({ seq: e.seq, type: e.type, key: e.platformKey, escalationId: e.escalationId }));
  }

  private storedKeys(pairs: [string, string][]) {
    return pairs.filter(([id, key]) => this.events.some((e) => e.escalationId === id && e.platformKey === key)).map(([id, key]) => ({ escalation_id: id, platform_key: key }));
  }

  escalationsRepository = {
    lockForIngest: async (_em: EntityManager, ids: string[], keyed: [string, string][]): Promise<IngestLockRow[]> =>
      ids
        .map((id) => this.escalations.get(id))
        .filter((x) => x !== undefined)
        .sort((a, b) => a.conversationId.localeCompare(b.conversationId) || a.id.localeCompare(b.id))
        .map((x) => {
          const conversation = this.conversations.get(x.conversationId)!;
          const seen = this.staleSnapshot ? [] : this.storedKeys(keyed.filter(([id]) => id === x.id)).map((row) => row.platform_key);
          return {
            id: x.id,
            state: x.state,
            gateway_id: x.gatewayId,
            domain_id: x.domainId,
            conversation_id: x.conversationId,
            queue: x.queue,
            cursor: x.cursor,
            session_enc: x.sessionEnc,
            seen,
            last_seq: conversation.lastSeq,
            control: conversation.control,
            stored_seq: this.staleSnapshot ? conversation.lastSeq - 1 : conversation.lastSeq,
            on_channel: false,
          };
        }),
    // As the repository's UPDATE: only from a state that may move to `to`.
    transition: async (_em: EntityManager, escalation: EscalationEntity, to: EscalationState, reason: string, fields: Record<string, unknown> = {}) => {
      if (!canTransition(escalation.state, to)) return false;
      this.transitions.push({ escalationId: escalation.id, from: escalation.state, to, reason });
      const row = this.escalations.get(escalation.id)!;
      row.state = to;
      if ('queue' in fields) row.queue = fields.queue as string | null;
      escalation.state = to;
      return true;
    },
    session: (escalation: Pick<EscalationEntity, 'sessionEnc'>) => (escalation.sessionEnc ? JSON.parse(escalation.sessionEnc.slice('sealed:'.length)) : null),
    sealSession: (session: unknown) => (session ? `sealed:${JSON.stringify(session)}` : null),
    cursorAndSessionStatement: (sets: unknown[]): Statement => ({ sql: 'escalation cursors', values: [sets] }),
    runCombined: async (_em: EntityManager, statements: Statement[]): Promise<HandOffRow[]> => {
      this.combined.push(statements);
      let answered: HandOffRow[] = [];
      let inserted: EventRowInput[] = [];
      for (const { sql, values } of statements) {
        answered = [];
        if (sql === 'insert events') {
          inserted = values[0] as EventRowInput[];
          for (const row of inserted) this.events.push({ conversationId: row.conversationId, seq: row.seq, escalationId: row.escalationId, type: row.type, data: JSON.parse(row.data), platformKey: row.platformKey });
        } else if (sql === 'escalation cursors') {
          for (const set of values[0] as { id: string; setCursor: boolean; cursor: string | null; setSession: boolean; session: string | null }[]) {
            const row = this.escalations.get(set.id)!;
            if (set.setCursor) row.cursor = set.cursor;
            if (set.setSession) row.sessionEnc = set.session;
          }
        } else if (sql === 'advance conversations') {
          const [advances, claim] = values as [ConversationAdvance[], string | null];
          for (const advance of advances) {
            const conversation = this.conversations.get(advance.id)!;
            Object.assign(conversation, { lastSeq: advance.lastSeq, control: advance.control, closed: conversation.closed || advance.closed });
            if (claim && advance.lastSeq > advance.prevSeq) conversation.claim = claim;
          }
        } else if (sql === 'skip relay commands') {
          this.relaySkipped.push(...(values[0] as string[]));
        } else if (sql === 'hand-off select') {
          answered = inserted
            .filter((row) => this.conversations.get(row.conversationId)!.claim !== null)
            .map((row) => ({ conversation_id: row.conversationId, domain_id: 'dom-1', seq: row.seq, type: row.type }) as unknown as HandOffRow);
        }
      }
      return answered;
    },
  };

  conversationsRepository = {
    storedKeys: async (_em: EntityManager, pairs: [string, string][]) => this.storedKeys(pairs),
    insertEventsStatement: (rows: EventRowInput[]): Statement => ({ sql: 'insert events', values: [rows] }),
    advanceStatement: (advances: ConversationAdvance[], extension?: AdvanceExtension): Statement => ({
      sql: 'advance conversations',
      values: [advances.map((a) => ({ ...a })), (extension as unknown as { claim: string } | undefined)?.claim ?? null],
    }),
  };

  claims = {
    handOffExtension: (claim: string) => ({ claim }),
    handOffSelect: (advanced: string, inserted: string): Statement => ({ sql: 'hand-off select', values: [advanced, inserted] }),
  };

  delivery = {
    handOffClaim: (conversations: number) => {
      this.claimAsked.push(conversations);
      return this.claimToken;
    },
    handOffsFrom: (rows: HandOffRow[], claim: string) => {
      const byConversation = new Map<string, HandOff>();
      for (const row of rows) {
        const handOff = byConversation.get(row.conversation_id) ?? ({ domainId: row.domain_id, conversation: { id: row.conversation_id }, events: [], claim } as unknown as HandOff);
        handOff.events.push({ seq: row.seq, type: row.type } as HandOff['events'][number]);
        byConversation.set(row.conversation_id, handOff);
      }
      return byConversation;
    },
    adopt: (handOffs: HandOff[]) => this.adopted.push(...handOffs),
    trigger: async (domainId: string) => {
      this.triggered.push(domainId);
    },
  };

  service(): EscalationIngestService {
    const relay = { skipPendingStatement: (ids: string[]): Statement => ({ sql: 'skip relay commands', values: [ids] }) };
    const attachments = { add: async () => 'file-1' };
    const policies = { forGateway: async () => this.policy };
    const domains = { agentDirectory: async () => new Map<string, string>() };
    const jobs = { relay: async (escalationId: string) => this.relayJobs.push(escalationId) };
    const metrics = { eventsStored: { inc: () => (this.eventsCounted += 1) } };
    return new EscalationIngestService(
      this.escalationsRepository as unknown as EscalationsRepository,
      this.conversationsRepository as unknown as ConversationsRepository,
      relay as unknown as RelayCommandsRepository,
      attachments as unknown as AttachmentsRepository,
      policies as unknown as EscalationPolicyResolver,
      domains as unknown as DomainsService,
      jobs as unknown as JobDispatcher,
      this.delivery as unknown as DeliveryService,
      this.claims as unknown as DeliveryClaimsRepository,
      metrics as unknown as MetricsService,
      new SwitchboardHooksRegistry(),
    );
  }

  ingest(escalationId: string, input: IngestInput) {
    return this.service().ingestIn(em, escalationId, input);
  }
}

describe('EscalationIngestService', () => {
  let world: IngestWorld;

  beforeEach(() => {
    world = new IngestWorld();
    world.conversation('conv-1', 3);
    world.escalation('esc-1', 'conv-1', 'active');
  });

  describe('storing each platform event once', () => {
    it('does not store again an event whose platform key is stored, in whichever form it was stored', async () => {
      const long = 'x'.repeat(600);
      const digested = 'y'.repeat(600);
      world.stored('esc-1', 'short-key');
      // Versions before the digest stored a long key as it was; the current one stores its digest.
      world.stored('esc-1', long);
      world.stored('esc-1', storableKeyForms(digested)[0]);
      // A key with a lone surrogate is stored with U+FFFD in its place.
      world.stored('esc-1', 'bad-\uFFFD');
      const before = world.eventsOf('conv-1').length;

      const outcome = await world.ingest('esc-1', { events: [ev.message('short-key'), ev.message(long), ev.message(digested), ev.message('bad-\uD800'), ev.message('new-key')] });

      expect(world.eventsOf('conv-1', before)).toEqual([{ seq: before + 1, type: 'agent_message', key: 'new-key', escalationId: 'esc-1' }]);
      expect(outcome).toMatchObject({ stored: 1, lastSeq: before + 1 });
    });

    it('stores an event repeated within one answer once', async () => {
      const outcome = await world.ingest('esc-1', { events: [ev.message('m-1'), ev.message('m-1'), ev.message('m-2')] });
      expect(world.eventsOf('conv-1', 3).map((e) => [e.seq, e.key])).toEqual([
        [4, 'm-1'],
        [5, 'm-2'],
      ]);
      expect(outcome.stored).toBe(2);
    });

    it('stores a digested long key, so that the next sight of it is recognised', async () => {
      const long = 'z'.repeat(600);
      await world.ingest('esc-1', { events: [ev.message(long)] });
      await world.ingest('esc-1', { events: [ev.message(long)] });
      expect(world.eventsOf('conv-1', 3).map((e) => e.key)).toEqual([storableKeyForms(long)[0]]);
    });

    it("looks the keys up again when its lock waited for another writer's commit", async () => {
      world.stored('esc-1', 'm-1');
      world.staleSnapshot = true;
      const outcome = await world.ingest('esc-1', { events: [ev.message('m-1'), ev.message('m-2')] });
      expect(world.eventsOf('conv-1', 4).map((e) => [e.seq, e.key])).toEqual([[5, 'm-2']]);
      expect(outcome.stored).toBe(1);
    });
  });

  it('numbers new events consecutively, in input order, across the escalations of one conversation', async () => {
    world.escalation('esc-2', 'conv-1', 'queued');
    world.conversation('conv-2', 0);
    world.escalation('esc-3', 'conv-2', 'active');
    const items: IngestItem[] = [
      { escalationId: 'esc-2', input: { events: [ev.message('a'), ev.message('b')] } },
      { escalationId: 'esc-3', input: { events: [ev.message('c')] } },
      { escalationId: 'esc-1', input: { events: [ev.message('d'), ev.message('e')] } },
    ];

    const outcomes = await world.service().ingestManyIn(em, items);

    expect(world.eventsOf('conv-1', 3).map((e) => [e.seq, e.key, e.escalationId])).toEqual([
      [4, 'a', 'esc-2'],
      [5, 'b', 'esc-2'],
      [6, 'd', 'esc-1'],
      [7, 'e', 'esc-1'],
    ]);
    expect(world.eventsOf('conv-2').map((e) => [e.seq, e.key])).toEqual([[1, 'c']]);
    expect(outcomes.map((o) => [o.conversationId, o.stored, o.lastSeq])).toEqual([
      ['conv-1', 2, 5],
      ['conv-2', 1, 1],
      ['conv-1', 2, 7],
    ]);
    expect(world.conversations.get('conv-1')!.lastSeq).toBe(7);
    expect(world.eventsCounted).toBe(5);
  });

  describe('control of the conversation', () => {
    it('gives the conversation to the agent who joined and makes the escalation active', async () => {
      world.escalation('esc-1', 'conv-1', 'queued');
      const outcome = await world.ingest('esc-1', { events: [ev.joined('j-1')] });
      expect(world.conversations.get('conv-1')!.control).toBe('agent');
      expect(outcome.state).toBe('active');
      expect(world.transitions).toEqual([{ escalationId: 'esc-1', from: 'queued', to: 'active', reason: 'agent joined' }]);
    });

    it('hands the conversation back to the bot when the agent closes and transfer back is on', async () => {
      world.conversation('conv-1', 3, 'agent');
      world.policy.transferBackOnAgentClose = true;
      const outcome = await world.ingest('esc-1', { events: [ev.ended('end-1', 'agent')] });
      expect(world.conversations.get('conv-1')).toMatchObject({ control: 'bot', closed: false });
      expect(world.events.at(-1)!.data).toMatchObject({ controlReturnedToBot: true, conversationClosed: false });
      expect(outcome).toMatchObject({ state: 'ended', becameFinal: true });
      expect(world.relaySkipped).toEqual(['esc-1']);
    });

    it('closes the conversation when the agent closes and transfer back is off', async () => {
      world.conversation('conv-1', 3, 'agent');
      world.policy.transferBackOnAgentClose = false;
      const outcome = await world.ingest('esc-1', { events: [ev.ended('end-1', 'agent')] });
      expect(world.conversations.get('conv-1')).toMatchObject({ closed: true });
      expect(world.events.at(-1)!.data).toMatchObject({ controlReturnedToBot: false, conversationClosed: true });
      expect(outcome).toMatchObject({ state: 'ended', becameFinal: true });
    });

    it('changes nothing on a second end of an escalation that ended', async () => {
      world.conversation('conv-1', 3, 'agent');
      world.policy.transferBackOnAgentClose = true;
      await world.ingest('esc-1', { events: [ev.ended('end-1', 'agent')] });
      const transitions = world.transitions.length;

      // Had it been applied, an end by the user would close the conversation the bot has again.
      const outcome = await world.ingest('esc-1', { events: [ev.ended('end-2', 'user')] });

      expect(world.conversations.get('conv-1')).toMatchObject({ control: 'bot', closed: false });
      expect(world.transitions).toHaveLength(transitions);
      expect(world.events.at(-1)!.data).not.toHaveProperty('conversationClosed');
      expect(outcome).toMatchObject({ state: 'ended', becameFinal: false });
      expect(world.relaySkipped).toEqual(['esc-1']);
    });
  });

  describe('the hand-off to delivery', () => {
    it('asks for a hand-off claim only when it stores events', async () => {
      world.claimToken = 'claim-1';
      world.stored('esc-1', 'seen');
      await world.ingest('esc-1', { events: [ev.message('seen')], cursor: 'c-2' });
      expect(world.claimAsked).toEqual([]);
      expect(world.combined.at(-1)!.map((part) => part.sql)).toEqual(['escalation cursors']);

      await world.ingest('esc-1', { events: [ev.message('new')] });
      expect(world.claimAsked).toEqual([1]);
    });

    it("gives the claimed conversation's stored events to the first outcome of that conversation, and triggers no pass for them", async () => {
      world.claimToken = 'claim-1';
      world.escalation('esc-2', 'conv-1', 'active');
      const service = world.service();
      const items: IngestItem[] = [
        { escalationId: 'esc-1', input: { events: [ev.message('a')] } },
        { escalationId: 'esc-2', input: { events: [ev.message('b')] } },
      ];
      const outcomes = await service.ingestManyIn(em, items);
      expect(outcomes[0].handOff?.events.map((e) => e.seq)).toEqual([4, 5]);
      expect(outcomes[1].handOff).toBeNull();

      await service.afterCommitMany(items.map((item, i) => ({ escalationId: item.escalationId, result: outcomes[i] })));
      expect(world.adopted.map((handOff) => handOff.conversation.id)).toEqual(['conv-1']);
      expect(world.triggered).toEqual([]);
    });

    it('triggers a delivery pass for events stored without a claim', async () => {
      const service = world.service();
      const outcome = await service.ingestIn(em, 'esc-1', { events: [ev.message('a')] });
      await service.afterCommit('esc-1', outcome);
      expect(world.adopted).toEqual([]);
      expect(world.triggered).toEqual(['dom-1']);
    });
  });

  describe('the one statement', () => {
    it("writes the caller's part first, then the events, cursors, conversations with the claim, skipped relay commands, and reads back the claimed events", async () => {
      world.claimToken = 'claim-1';
      world.conversation('conv-1', 3, 'agent');
      const alongside: Statement = { sql: "the caller's write", values: [] };

      await world.service().ingestManyIn(em, [{ escalationId: 'esc-1', input: { events: [ev.message('m'), ev.ended('end', 'agent')], cursor: 'c-9' } }], [alongside]);

      const parts = world.combined.at(-1)!;
      expect(parts.map((part) => part.sql)).toEqual(["the caller's write", 'insert events', 'escalation cursors', 'advance conversations', 'skip relay commands', 'hand-off select']);
      // The hand-off read names the parts it reads by their place in the combined statement (`combine`'s w<i>).
      const [advanced, inserted] = parts.at(-1)!.values as string[];
      expect(parts[Number(advanced.slice(1))].sql).toBe('advance conversations');
      expect(parts[Number(inserted.slice(1))].sql).toBe('insert events');
      expect(parts[3].values[1]).toBe('claim-1');
      expect(world.conversations.get('conv-1')!.claim).toBe('claim-1');
    });

    it('advances the conversations without a claim, and reads nothing back, when this process cannot send now', async () => {
      await world.ingest('esc-1', { events: [ev.message('m')] });
      const parts = world.combined.at(-1)!;
      expect(parts.map((part) => part.sql)).toEqual(['insert events', 'advance conversations']);
      expect(parts[1].values[1]).toBeNull();
    });

    it('writes nothing when nothing changed', async () => {
      world.escalation('esc-1', 'conv-1', 'active', { cursor: 'c-1' });
      world.stored('esc-1', 'seen');
      await world.ingest('esc-1', { events: [ev.message('seen')], cursor: 'c-1' });
      expect(world.combined).toEqual([]);
    });
  });
});
