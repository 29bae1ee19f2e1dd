import { ConversationEntity, EscalationEntity, RelayCommandEntity } from '../database/entities';
import { EscalationDto, RelayCommandDto } from './escalations.dto';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

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
