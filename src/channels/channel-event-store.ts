import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { storable } from '../common/storable-text';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { combine } from '../database/combined-statement';
import { prepared } from '../database/prepared';
import { DeliveryClaimsRepository, HandOffRow } from '../delivery/delivery-claims.repository';
import { DeliveryService } from '../delivery/delivery.service';
import type { HandOff } from '../delivery/delivery.types';
import { MetricsService } from '../metrics/metrics.service';
import type { ChannelEventInput } from './channel-events';

/** What a store left for after the commit: the conversation this process claimed for delivery, or a pass to ask for. */
export interface StoredChannelEvents {
  stored: Set<string>;
  /** The stored events, claimed for this process to send at once (as the escalation ingest hands its events over). */
  handOff: HandOff | null;
  /** The domain to run a delivery pass for when events were stored and not claimed. */
  passFor: string | null;
}

/** A conversation locked for numbering its events. */
export type LockedConversation = Awaited<ReturnType<ConversationsRepository['lockForEvents']>>;

/**
 * Stores a channel conversation's events once each (by key, among its events of no escalation), numbered in its
 * sequence under the conversation's row lock, with the conversation core's own statements; delivery is triggered
 * after the commit (`delivered`).
 */
@Injectable()
export class ChannelEventStore {
  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly delivery: DeliveryService,
    private readonly claims: DeliveryClaimsRepository,
    private readonly metrics: MetricsService,
  ) {}

  lock(em: EntityManager, conversationId: string): Promise<LockedConversation> {
    return this.conversations.lockForEvents(em, conversationId);
  }

  /**
   * Stores the events not stored yet, in order (`locked` is moved on), in one statement that also claims the
   * conversation for this process's delivery when nothing older waits and no one else holds it, and reads the stored
   * events back for it: as the escalation ingest does, so that a busy domain's events go out without a delivery pass
   * each (a pass claims over the whole domain). `afterCommit` sends them or asks for the pass.
   */
  async store(em: EntityManager, locked: LockedConversation, events: ChannelEventInput[], options: { fresh?: boolean } = {}): Promise<StoredChannelEvents> {
    const stored = new Set<string>();
    const none = { stored, handOff: null, passFor: null };
    if (!events.length) return none;
    // `fresh`: the caller's own write in this transaction proves these keys new (a status change that happened once).
    const seen = options.fresh ? new Set<string>() : await this.conversations.storedChannelKeys(em, locked.id, [...new Set(events.map((e) => e.key))]);
    const prevSeq = locked.lastSeq;
    const rows = [];
    for (const event of events) {
      if (seen.has(event.key)) continue;
      seen.add(event.key);
      stored.add(event.key);
      locked.lastSeq += 1;
      rows.push({ conversationId: locked.id, seq: locked.lastSeq, escalationId: null, type: event.type, data: JSON.stringify(storable(event.data)), platformKey: event.key, occurredAt: event.occurredAt });
      this.metrics.eventsStored.inc({ type: event.type });
    }
    if (!rows.length) return none;
    const claim = this.delivery.handOffClaim(1);
    const insert = this.conversations.insertEventsStatement(rows);
    const advance = this.conversations.advanceStatement(
      [{ id: locked.id, lastSeq: locked.lastSeq, prevSeq, control: locked.control, closed: false }],
      claim ? this.claims.handOffExtension(claim) : undefined,
    );
    const { sql, values } = combine(claim ? [insert, advance, this.claims.handOffSelect('w1', 'w0')] : [insert, advance]);
    const answered = await prepared<HandOffRow>(em, sql, values);
    const handOff = claim ? (this.delivery.handOffsFrom(answered, claim).get(locked.id) ?? null) : null;
    return { stored, handOff, passFor: handOff ? null : locked.domainId };
  }

  /** After the commit of stored events: sends those this process claimed, or asks for a pass over the domain. */
  async afterCommit(outcomes: StoredChannelEvents[]): Promise<void> {
    const handOffs = outcomes.flatMap((o) => (o.handOff ? [o.handOff] : []));
    if (handOffs.length) this.delivery.adopt(handOffs);
    for (const domainId of new Set(outcomes.flatMap((o) => (o.passFor ? [o.passFor] : [])))) await this.delivery.trigger(domainId);
  }
}
