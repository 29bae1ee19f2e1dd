import { eventId } from '../common/event-id';
import { EventEntity } from '../database/entities';
import { EventDto } from './conversations.dto';

/**
 * An event's delivery as the API reports it. A successful delivery is recorded in delivery_attempts and by moving
 * the conversation's delivered_seq past the event, not on the event row (one write fewer per event): an event still
 * 'pending' at or below `deliveredSeq` was delivered, by the attempt after its failed ones.
 */
export function withDelivery<T extends Pick<EventEntity, 'seq' | 'deliveryStatus' | 'deliveryAttempts'>>(event: T, deliveredSeq: number): T {
  if (event.deliveryStatus === 'pending' && event.seq <= deliveredSeq) {
    event.deliveryStatus = 'delivered';
    event.deliveryAttempts += 1;
  }
  return event;
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
