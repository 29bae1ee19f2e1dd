import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { storable } from '../common/storable-text';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { DeliveryService } from '../delivery/delivery.service';
import { MetricsService } from '../metrics/metrics.service';
import type { ChannelEventInput } from './channel-events';

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
    private readonly metrics: MetricsService,
  ) {}

  lock(em: EntityManager, conversationId: string): Promise<LockedConversation> {
    return this.conversations.lockForEvents(em, conversationId);
  }

  /** Stores the events not stored yet, in order; answers the keys it stored. `locked` is moved on. */
  async store(em: EntityManager, locked: LockedConversation, events: ChannelEventInput[]): Promise<Set<string>> {
    const stored = new Set<string>();
    if (!events.length) return stored;
    const seen = await this.conversations.storedChannelKeys(em, locked.id, [...new Set(events.map((e) => e.key))]);
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
    if (!rows.length) return stored;
    const insert = this.conversations.insertEventsStatement(rows);
    await em.query(insert.sql, insert.values);
    const advance = this.conversations.advanceStatement([{ id: locked.id, lastSeq: locked.lastSeq, prevSeq, control: locked.control, closed: false }]);
    await em.query(advance.sql, advance.values);
    return stored;
  }

  /** After the commit of stored events: a delivery pass for the conversation's domain. */
  delivered(domainId: string): Promise<void> {
    return this.delivery.trigger(domainId);
  }
}
