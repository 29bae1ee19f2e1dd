import { eventId } from '../common/event-id';

/** A conversation as delivery sends it: how the bot platform names it, its domain's callback, how far delivery got. */
export interface ConversationRow {
  id: string;
  external_id: string;
  delivered_seq: number;
  delivery_attempts: number;
  domain: string;
  callback_url: string | null;
}

/** An event as delivery sends it. */
export interface EventRow {
  id: string;
  seq: number;
  escalation_id: string | null;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date;
  created_at: Date;
}

/** A domain's signing secrets as stored (sealed): the current one, and the one it replaced while that still signs. */
export interface SigningSecretColumns {
  signing_secret: string | null;
  previous_signing_secret: string | null;
}

/** A conversation an ingest claimed for this process with the events it stored (see `DeliveryService.handOffClaim`). */
export interface HandOff {
  domainId: string;
  conversation: ConversationRow;
  /** The domain's signing secret as stored (sealed). */
  signingSecret: string | null;
  /** The secret it replaced, sealed, while that still signs. */
  previousSigningSecret: string | null;
  events: EventRow[];
  claim: string;
}

/** The body POSTed to the bot platform for each event. */
export function deliveryBody(conversation: ConversationRow, event: EventRow): string {
  return JSON.stringify({
    id: eventId(event.id),
    type: event.type,
    domain: conversation.domain,
    conversationId: conversation.id,
    externalConversationId: conversation.external_id,
    escalationId: event.escalation_id,
    seq: event.seq,
    occurredAt: event.occurred_at.toISOString(),
    data: event.data,
  });
}
