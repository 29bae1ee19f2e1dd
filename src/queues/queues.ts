/**
 * Every BullMQ queue, job name and payload of the service, declared in one place. Jobs carry ids only: bodies,
 * secrets and transcripts stay in PostgreSQL.
 */
export const QUEUES = {
  /** Escalations enqueued by internal services (documented job schema, typed producer in libs/client). */
  escalationRequests: 'escalation-requests',
  /** Start, relay, timeout and control work per escalation. */
  escalations: 'escalations',
  /** Batched polling of poll-based platforms. */
  polls: 'escalation-polls',
  /** Stored platform webhooks waiting to be turned into events. */
  inbound: 'inbound-webhooks',
  /** Signed delivery of events to the bot platform, in order per conversation. */
  deliveries: 'bot-deliveries',
  /** Outbound messages to channel users, in order per conversation. */
  channelSends: 'channel-sends',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const ALL_QUEUES: QueueName[] = Object.values(QUEUES);

export const JOBS = {
  intake: 'intake',
  start: 'start',
  relay: 'relay',
  timeout: 'timeout',
  sessionGone: 'session-gone',
  pollTick: 'poll-tick',
  inbound: 'inbound',
  deliver: 'deliver',
  reconcile: 'reconcile',
  send: 'send',
} as const;

/** `start`, `relay`, `timeout` and `session-gone` jobs: work about one escalation. */
export interface EscalationJob {
  escalationId: string;
}
export interface InboundJob {
  gatewayId: string;
}
export interface DeliverJob {
  /** The domain whose conversations a delivery pass serves. */
  domainId: string;
}
/** A `send` job: drain a channel conversation's outbound messages, in order. */
export interface ChannelSendJob {
  conversationId: string;
}
export interface PollTickJob {
  shard: number;
}
/** Correlation ids travel with every job so logs of one request and its jobs line up. */
export interface JobMeta {
  correlationId?: string;
}
