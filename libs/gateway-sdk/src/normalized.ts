/** Who wrote an entry of the bot conversation's history. */
export type HistoryAuthor = 'user' | 'bot' | 'agent' | 'system';

/** A file that travels with a message. Content is fetched through the context, never carried in jobs. */
export interface AttachmentRef {
  /** Our attachment id (stored bytes) when the file is held by the service. */
  id?: string;
  name: string;
  mimeType: string;
  size?: number;
  /** Where the bytes can be fetched when they are not held by the service. */
  url?: string;
}

/** A rich card (Microsoft Adaptive Card or a platform card), passed through as JSON. */
export interface Card {
  contentType: string;
  content: unknown;
}

/** One entry of the conversation before the hand-over. */
export interface HistoryEntry {
  author: HistoryAuthor;
  text?: string;
  attachments?: AttachmentRef[];
  cards?: Card[];
  /** ISO-8601 time the entry was written. */
  time: string;
}

/** The end user as the bot platform knows them. */
export interface EndUser {
  firstName?: string;
  lastName?: string;
  name?: string;
  email?: string;
  phone?: string;
  /** BCP-47 or platform language code, e.g. `en`. */
  language?: string;
}

/** What a gateway receives to start a hand-over. */
export interface EscalationRequest {
  escalationId: string;
  conversation: { externalId: string; channel: string };
  user: EndUser;
  /** Escalation attributes (set by the bot flow, per the product documentation), sent to the platform as user data. */
  attributes: Record<string, string>;
  history: HistoryEntry[];
  /** Target queue; the gateway's configured escalation queue when absent. */
  queue?: string;
  locale?: string;
}

/** A user-to-agent message relayed through the gateway. */
export interface OutboundMessage {
  /** Our message id; gateways pass it to the platform when it supports client message ids. */
  id: string;
  text?: string;
  attachments?: AttachmentRef[];
  cards?: Card[];
}

/** The agent as the platform describes them. */
export interface AgentInfo {
  id?: string;
  name?: string;
  email?: string;
}

/** A file an agent sent, with its bytes fetched by the gateway so the service can keep them. */
export interface InboundAttachment {
  name: string;
  mimeType: string;
  size: number;
  content: Buffer;
}

/** Normalized event types, the same for every gateway. */
export type NormalizedEventType =
  | 'queued'
  | 'agent_joined'
  | 'agent_left'
  | 'agent_message'
  | 'agent_typing_started'
  | 'agent_typing_stopped'
  | 'push_url'
  | 'attachment'
  | 'transferred'
  | 'notice'
  | 'ended'
  | 'failed';

/** Who ended an escalation. */
export type EndedBy = 'agent' | 'user' | 'timeout' | 'system';

/** Payload of each normalized event type. */
export interface NormalizedEventData {
  queued: { queueId?: string; queueName?: string; position?: number };
  agent_joined: { agent: AgentInfo };
  agent_left: { agent: AgentInfo };
  agent_message: { agent?: AgentInfo; text?: string; cards?: Card[] };
  agent_typing_started: { agent?: AgentInfo };
  agent_typing_stopped: { agent?: AgentInfo };
  push_url: { agent?: AgentInfo; url: string };
  attachment: { agent?: AgentInfo; attachment: InboundAttachment };
  transferred: { toQueueId?: string; toQueueName?: string };
  notice: { text: string };
  ended: { by: EndedBy; reason?: string };
  failed: { reason: string };
}

/** One thing that happened on the platform, as a gateway reports it. */
export type PlatformEvent = {
  [T in NormalizedEventType]: {
    type: T;
    /**
     * Stable platform identity of the event (GMS transcript index, 8x8 event id...). The service stores an event
     * at most once per escalation and key, so a platform event seen twice has one effect.
     */
    key: string;
    occurredAt: Date;
    data: NormalizedEventData[T];
  };
}[NormalizedEventType];

/** Opaque per-escalation platform identifiers (chat id, secure key...), stored encrypted by the service. */
export type PlatformSession = Record<string, string | number | boolean | null>;
