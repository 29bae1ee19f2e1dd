import { EscalationRequest } from '@app/gateway-sdk';

/**
 * Webhook bodies as 8x8 documents them (labels of docs/gateways/8x8-chat-gateway.md, Sources: 8x8 webhook events,
 * 8x8 legacy webhook events, the real AGENT_JOINED sample of 8x8 webhook signature validation) and the examples of
 * 8x8's chat workflow guide. Kept verbatim, `"ID-0"` and `timestamp: 0` included.
 */
export const WEBHOOK_BODIES = {
  conversationUpdateActiveAgent: {
    eventType: 'CONVERSATION_UPDATE',
    conversationId: 'ID-0',
    timestamp: 1713100000000,
    data: {
      state: 'active',
      assignment: { type: 'agent', id: 'agent-abc-123', resourceId: 'resource-123' },
      user: { name: 'John Doe', userId: 'user-456', email: 'john@example.com', language: 'en', additionalProperties: [{ key: 'department', value: 'support' }] },
      channel: 'ChatAPI',
    },
  },
  conversationUpdateIdle: { eventType: 'CONVERSATION_UPDATE', conversationId: 'ID-0', timestamp: 1713100000000, data: { state: 'idle', assignment: { type: 'queue', id: '123' }, channel: 'ChatAPI' } },
  queued: { eventType: 'QUEUED', conversationId: 'ID-0', timestamp: 1713100000000, data: { queueId: 'queue-abc-123', queueName: 'Customer Support' } },
  /** "QUEUED" of 8x8's chat workflow guide (string placeholders as documented). */
  seedQueued: { eventType: 'QUEUED', conversationId: 'ID-0', timestamp: 0, data: { queueId: 'string', queueName: 'string' } },
  agentJoined: { eventType: 'MEMBERS_CHANGED', conversationId: 'ID-0', timestamp: 1713100000000, data: { memberType: 'agent', change: 'joined', id: 'agent-abc-123' } },
  agentLeft: { eventType: 'MEMBERS_CHANGED', conversationId: 'ID-0', timestamp: 1713100000000, data: { memberType: 'agent', change: 'left', id: 'agent-abc-123' } },
  userLeft: { eventType: 'MEMBERS_CHANGED', conversationId: 'ID-0', timestamp: 1713100000000, data: { memberType: 'user', change: 'left', id: 'user' } },
  transfer: { eventType: 'TRANSFER', conversationId: 'ID-0', timestamp: 1713100000000 },
  agentMessage: {
    eventType: 'MESSAGE',
    conversationId: 'ID-0',
    timestamp: 1713100000000,
    data: {
      isEcho: false,
      sender: { id: 'agent-abc-123', type: 'agent' },
      text: 'Hello, how can I help you?',
      attachments: [{ id: 'att-001', type: 'image', preSignedUrl: 'https://files.example.com/att-001', fileName: 'screenshot.png' }],
      cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: {} }],
    },
  },
  /** "MESSAGE" as far as 8x8's chat workflow guide shows it (isEcho true). */
  seedEcho: { eventType: 'MESSAGE', conversationId: 'ID-0', timestamp: 0, data: { isEcho: true, sender: { id: 'string', type: '' } } },
  /** "ACTIVITY" typing of 8x8's chat workflow guide. */
  typing: { eventType: 'ACTIVITY', conversationId: 'ID-0', timestamp: 0, data: { name: 'typing', value: { users: [{ type: 'agent', id: 'string' }] } } },
  typingStopped: { eventType: 'ACTIVITY', conversationId: 'ID-0', timestamp: 1713100000000, data: { name: 'typing', value: { users: [] } } },
  quickReply: { eventType: 'ACTIVITY', conversationId: 'ID-0', timestamp: 1713100000000, data: { name: 'quickReply/action', value: { type: 'postback', data: { title: 'option one', payload: '1' } } } },
  webhookVerify: { notificationVersion: 'Chat Gateway v1.0', eventType: 'WEB_HOOK_VERIFY' },
  legacy: {
    queued: { eventType: 'QUEUED', messageType: 'SYSTEM', conversationId: 'ID-0', timestamp: 0, queueId: 'q-7', queueName: 'Billing' },
    /** The real sample of the signature-validation page. */
    agentJoined: { eventType: 'AGENT_JOINED', messageType: 'SYSTEM', conversationId: 'Aka5NMHU8MtIG7lUQOxI0DTOvM4', agentId: 'cmalutan', agentName: 'Cosmin,Malutan', timestamp: 1629804577002 },
    agentLeft: { eventType: 'AGENT_LEFT', messageType: 'SYSTEM', conversationId: 'ID-0', timestamp: 0, agentId: 'cmalutan', agentName: 'Cosmin,Malutan' },
    transfer: { eventType: 'TRANSFER', messageType: 'SYSTEM', conversationId: 'ID-0', timestamp: 0 },
    text: { eventType: 'TEXT', messageType: 'AGENT', conversationId: 'ID-0', timestamp: 0, agentId: 'cmalutan', agentName: 'Cosmin,Malutan', message: 'Hi, Cosmin here' },
    webhookVerify: { notificationVersion: 'v2.0', eventType: 'WEB_HOOK_VERIFY' },
  },
};

/** The create-conversation example of 8x8's chat workflow guide, as the escalation the service hands the gateway. */
export function seedEscalation(overrides: Partial<EscalationRequest> = {}): EscalationRequest {
  return {
    escalationId: 'esc-0001',
    conversation: { externalId: 'bot-conv-42', channel: 'webchat' },
    user: { name: 'James Jones', email: 'user@example.com', phone: '013453403332', language: 'en' },
    attributes: { Authenticated: 'yes', Intent: 'balance', AccountType: 'credit' },
    history: [
      { author: 'user', text: 'Hello, can I get my balance please', time: '2024-04-14T13:00:00Z' },
      { author: 'bot', text: 'Sure, what is your account number', time: '2024-04-14T13:00:01Z' },
      { author: 'user', text: '123456', time: '2024-04-14T13:00:02Z' },
      { author: 'bot', text: 'Your balance is £12.34', time: '2024-04-14T13:00:03Z' },
      { author: 'user', text: 'Thanks, please can I speak to an agent ', time: '2024-04-14T13:00:04Z' },
      { author: 'bot', text: 'Sure, connecting you now', time: '2024-04-14T13:00:05Z' },
    ],
    ...overrides,
  };
}
