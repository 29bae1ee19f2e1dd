/**
 * State and wire types of the 8x8 Chat Gateway simulator. The wire shapes follow 8x8's OpenAPI document
 * (oas/contact-center-chat-gateway-v1.oas.yml) and 8x8's webhook event reference (8x8 webhook events in
 * docs/simulators/8x8.md, Sources).
 */

/** The only webhook version the Chat Gateway v1 API accepts. */
export const CHAT_GATEWAY_VERSION = 'Chat Gateway v1.0';

/** Which event catalogue a webhook receives: the current Chat Gateway one, or the retired Chat API v2 one. */
export type EightByEightEventFormat = 'chat-gateway-v1' | 'legacy-v2';

/** A registered webhook (WebHookV2Result plus the simulator's per-webhook event format). */
export interface WebhookRecord {
  id: string;
  name: string;
  uri: string;
  version: string;
  /** Simulator-only: overrides the simulator-wide event format for this webhook. */
  eventFormat?: EightByEightEventFormat;
}

/** A Chat API channel (ChannelV2Result). */
export interface ChannelRecord {
  id: string;
  name: string;
  type: string;
  description?: string;
  webHookId: string;
  routingOptions: { type: 'queue'; id: string };
}

/** `additionalProperties` entries of the conversation user. */
export interface UserProperty {
  key: string;
  value: string;
}

/** The conversation user as the bot integration sent it (predefined fields plus any metadata). */
export interface ConversationUser {
  name?: string;
  userId?: string;
  email?: string;
  phone?: string;
  company?: string;
  caseId?: string;
  language?: string;
  additionalProperties?: UserProperty[];
  [key: string]: unknown;
}

/** Assignment of a conversation: `queue`/`script` from the API, `agent` once accepted, `webhook` after a hand-back. */
export interface Assignment {
  type: 'queue' | 'script' | 'agent' | 'webhook';
  id: string;
}

/** The documented conversation states. */
export type ConversationState = 'created' | 'active' | 'idle';

/**
 * Where a conversation stands from the contact center's side. Finer than `state`, which the API exposes:
 * `queued` and `with-agent` are both `active`.
 */
export type ConversationPhase = 'created' | 'queued' | 'with-agent' | 'script' | 'with-bot' | 'ended';

export type ParticipantType = 'user' | 'bot' | 'agent' | 'system';

/** A conversation participant (ConversationParticipant); `name` is kept for the agent console and legacy events. */
export interface ParticipantRecord {
  id: string;
  type: ParticipantType;
  removed: boolean;
  language: string;
  name?: string;
}

/** A card of a message (AdaptiveCards schema). */
export interface CardRecord {
  id: string;
  contentType: string;
  content: unknown;
  actionSubmitted: boolean;
  actionExecuted: boolean;
}

/** A stored message (MessageResult, with the author's participant id and type). */
export interface MessageRecord {
  id: string;
  text: string;
  createdAt: string;
  authorId: string;
  authorType: ParticipantType;
  externalProvider?: { name: string; externalMessageId: string };
  attachmentIds: string[];
  cards: CardRecord[];
  /** True for the transcript sent in `history` when the conversation was created. */
  fromHistory: boolean;
}

/** A stored attachment (AttachmentResult plus content and the pre-signed download token). */
export interface AttachmentRecord {
  id: string;
  filename: string;
  sizeInBytes: number;
  createdAt: string;
  mimeType: string;
  authorType: ParticipantType;
  content: Buffer;
  presignedToken: string;
}

/** A contact-center interaction of a conversation (InteractionInfo). A reopened conversation gets a new one. */
export interface InteractionRecord {
  id: string;
  startTime: string;
  endTime?: string;
}

/** What `POST .../post-agent-assignment` recorded. */
export interface PostAgentAssignmentRecord {
  type: string;
  id: string;
  configuration?: { notifyChannelWebhookIfExists?: string; maxTotalMinutes?: number; userTimeoutInMinutes?: number };
  createdAt: string;
}

/** The agent currently (or last) handling a conversation. */
export interface AgentIdentity {
  id: string;
  name: string;
}

/** A typing, thinking or read-receipt signal the bot integration sent; kept for an agent console. */
export interface IntegrationSignal {
  kind: 'typing' | 'thinking' | 'read-receipt';
  authorType: string;
  at: string;
  readAt?: number;
  maxThinkingTimeSeconds?: number;
}

/** The whole simulator-side record of one conversation. */
export interface ConversationRecord {
  id: string;
  channelId: string;
  /** Webhook of the channel when the conversation was created; used if the channel is deleted later. */
  webhookIdAtCreation: string;
  createdAt: string;
  state: ConversationState;
  phase: ConversationPhase;
  user: ConversationUser;
  assignment: Assignment;
  /** Last queue the conversation waited in; a reopened conversation goes back there. */
  lastQueueId: string;
  queuedAt?: number;
  agent?: AgentIdentity;
  lastAgent?: AgentIdentity;
  participants: ParticipantRecord[];
  messages: MessageRecord[];
  attachments: AttachmentRecord[];
  interactions: InteractionRecord[];
  postAgentAssignment?: PostAgentAssignmentRecord;
  /** Set when the agent left and the conversation went back to the bot through post-agent-assignment. */
  handedBack?: { webhookId: string; at: string };
  endedBy?: 'agent' | 'user';
  endedAt?: string;
  /** What the user left with (`displayMessage`, sent by some clients in PATCH participants/user). */
  leaveMessage?: string;
  signals: IntegrationSignal[];
}

/** Agent availability of one queue, the input of the real-time metrics. */
export interface QueueAgentCounts {
  available: number;
  busy: number;
  wrapUp: number;
  onBreak: number;
  workingOffline: number;
  loggedOut: number;
}

/** A contact-center queue known to the simulator. */
export interface QueueRecord {
  id: string;
  name: string;
  agents: QueueAgentCounts;
  /** Metric values that override the computed ones (key as in the metrics API, e.g. `offering.rt`). */
  metricOverrides: Record<string, number>;
}

/** The Chat Gateway v1.0 webhook envelope. */
export interface ChatGatewayEvent {
  eventType: 'CONVERSATION_UPDATE' | 'QUEUED' | 'MEMBERS_CHANGED' | 'TRANSFER' | 'MESSAGE' | 'ACTIVITY';
  conversationId: string;
  timestamp: number;
  data?: Record<string, unknown>;
}

/** An event as the simulator emits it: the v1 envelope plus what the legacy v2 mapping needs and v1 does not carry. */
export interface SimulatorEvent {
  envelope: ChatGatewayEvent;
  agentName?: string;
}
