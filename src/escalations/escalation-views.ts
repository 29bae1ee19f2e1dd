import type { DataSource } from 'typeorm';
import { eventId } from '../common/event-id';
import { ConversationEntity, EscalationEntity, EventEntity, RelayCommandEntity } from '../database/entities';
import { EscalationDto, EventDto, RelayCommandDto } from './escalations.dto';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/**
 * An event's delivery as the API reports it. A successful delivery is recorded in delivery_attempts and by moving
 * the conversation's delivered_seq past the event, not on the event row (one write fewer per event, the costliest
 * part of recording deliveries at a high rate): an event still 'pending' at or below `deliveredSeq` was delivered, by
 * the attempt after its failed ones.
 */
export function withDelivery<T extends Pick<EventEntity, 'seq' | 'deliveryStatus' | 'deliveryAttempts'>>(event: T, deliveredSeq: number): T {
  if (event.deliveryStatus === 'pending' && event.seq <= deliveredSeq) {
    event.deliveryStatus = 'delivered';
    event.deliveryAttempts += 1;
  }
  return event;
}

/** A conversation's delivery cursor for `withDelivery` (0 before anything was delivered). */
export async function deliveredSeqOf(db: Pick<DataSource, 'query'>, conversationId: string): Promise<number> {
  const [row] = await db.query(`SELECT delivered_seq FROM conversations WHERE id = $1`, [conversationId]);
  return row?.delivered_seq ?? 0;
}

export function eventDto(e: EventEntity): EventDto {
  return {
    id: eventId(e.id),
    conversationId: e.conversationId,
    seq: e.seq,
    escalationId: e.escalationId,
    type: e.type,
    data: e.data,
    occurredAt: e.occurredAt.toISOString(),
    deliveryStatus: e.deliveryStatus,
    deliveryAttempts: e.deliveryAttempts,
  };
}

export function escalationDto(e: EscalationEntity, conversation: ConversationEntity, domain: string): EscalationDto {
  return {
    id: e.id,
    conversationId: e.conversationId,
    externalConversationId: conversation.externalId,
    domain,
    gatewayId: e.gatewayId,
    state: e.state,
    control: conversation.control,
    queue: e.queue,
    agent: e.agent,
    user: e.endUser,
    attributes: e.attributes,
    endedBy: e.endedBy,
    endReason: e.endReason,
    failureReason: e.failureReason,
    startAttempts: e.startAttempts,
    timeoutAt: e.timeoutAt.toISOString(),
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    endedAt: iso(e.endedAt),
  };
}

export function relayDto(c: RelayCommandEntity): RelayCommandDto {
  return {
    id: c.id,
    seq: c.seq,
    kind: c.kind,
    author: c.author,
    status: c.status,
    attempts: c.attempts,
    lastError: c.lastError,
    payload: c.payload,
    createdAt: c.createdAt.toISOString(),
    sentAt: iso(c.sentAt),
  };
}
