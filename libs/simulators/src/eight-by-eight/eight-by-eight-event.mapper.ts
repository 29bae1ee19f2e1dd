import { CHAT_GATEWAY_VERSION, EightByEightEventFormat, SimulatorEvent } from './eight-by-eight.model';

/** The body of the WEB_HOOK_VERIFY hello (8x8 webhook events): no conversation id, no timestamp. */
export function webhookVerifyBody(format: EightByEightEventFormat, version?: string): Record<string, unknown> {
  const notificationVersion = version ?? (format === 'legacy-v2' ? 'v2.0' : CHAT_GATEWAY_VERSION);
  return { notificationVersion, eventType: 'WEB_HOOK_VERIFY' };
}

/**
 * The JSON body a webhook receives for an event, in the webhook's format; undefined when the format has no such event.
 * The legacy v2 catalogue (8x8 legacy webhook events) knows only QUEUED, AGENT_JOINED, AGENT_LEFT, TRANSFER and TEXT,
 * all flat: conversation updates, user-left, activities and echoes of our own messages have no v2 counterpart and are
 * skipped.
 */
export function toWireEvent(event: SimulatorEvent, format: EightByEightEventFormat): Record<string, unknown> | undefined {
  const envelope = event.envelope;
  if (format === 'chat-gateway-v1') {
    return envelope.data === undefined
      ? { eventType: envelope.eventType, conversationId: envelope.conversationId, timestamp: envelope.timestamp }
      : { ...envelope };
  }
  const base = (eventType: string, messageType: 'SYSTEM' | 'AGENT') => ({
    eventType,
    messageType,
    conversationId: envelope.conversationId,
    timestamp: envelope.timestamp,
  });
  const data = envelope.data ?? {};
  switch (envelope.eventType) {
    case 'QUEUED':
      return { ...base('QUEUED', 'SYSTEM'), queueId: data.queueId, queueName: data.queueName };
    case 'TRANSFER':
      return base('TRANSFER', 'SYSTEM');
    case 'MEMBERS_CHANGED':
      if (data.memberType !== 'agent') return undefined;
      return {
        ...base(data.change === 'joined' ? 'AGENT_JOINED' : 'AGENT_LEFT', 'SYSTEM'),
        agentId: data.id,
        agentName: event.agentName ?? data.id,
      };
    case 'MESSAGE': {
      const sender = data.sender as { id?: string; type?: string } | undefined;
      if (data.isEcho || sender?.type !== 'agent') return undefined;
      return { ...base('TEXT', 'AGENT'), agentId: sender.id, agentName: event.agentName ?? sender.id, message: data.text ?? '' };
    }
    default:
      return undefined;
  }
}
