import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

// Column types are spelled out so that the schema written by the migrations is the single source of truth.

@Entity('roles')
export class RoleEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') description: string;
  @Column('text', { array: true }) authorities: string[];
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

@Entity('service_accounts')
export class ServiceAccountEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') description: string;
  @Column('uuid', { name: 'role_id' }) roleId: string;
  /** The domains the account sees and acts on; null: every domain. */
  @Column('uuid', { name: 'domain_ids', array: true, nullable: true }) domainIds: string[] | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column('timestamptz', { name: 'disabled_at', nullable: true }) disabledAt: Date | null;
}

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid', { name: 'account_id' }) accountId: string;
  @Column('text') label: string;
  @Column('text') prefix: string;
  @Column('text') hash: string;
  /** A narrower set of the account's domains for this key; null: the account's. */
  @Column('uuid', { name: 'domain_ids', array: true, nullable: true }) domainIds: string[] | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt: Date | null;
}

@Entity('domains')
export class DomainEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') description: string;
  @Column('text', { name: 'callback_url', nullable: true }) callbackUrl: string | null;
  /** Encrypted (AES-256-GCM); never returned. */
  @Column('text', { name: 'signing_secret', nullable: true }) signingSecret: string | null;
  /** The secret `signingSecret` replaced, encrypted; deliveries are signed with it too until `previousSigningSecretUntil`. */
  @Column('text', { name: 'previous_signing_secret', nullable: true }) previousSigningSecret: string | null;
  @Column('timestamptz', { name: 'previous_signing_secret_until', nullable: true }) previousSigningSecretUntil: Date | null;
  /** Where an agent's messages go on a channel conversation: to the channel directly, or only to the bot as events. */
  @Column('text', { name: 'agent_messages' }) agentMessages: 'channel' | 'bot';
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

@Entity('gateways')
export class GatewayEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') type: string;
  @Column('text') name: string;
  @Column('uuid', { name: 'domain_id' }) domainId: string;
  @Column('boolean') deployed: boolean;
  @Column('text') locale: string;
  /** Settings per group; secret values are stored as `{ "$enc": "<ciphertext>" }`. */
  @Column('jsonb') settings: Record<string, Record<string, unknown>>;
  @Column('jsonb') provisioning: Record<string, unknown>;
  @Column('integer') version: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

@Entity('gateway_audit')
export class GatewayAuditEntity {
  @PrimaryColumn('bigint', { generated: 'increment' }) id: string;
  @Column('uuid', { name: 'gateway_id' }) gatewayId: string;
  @Column('text') actor: string;
  @Column('text') action: string;
  @Column('text', { array: true }) fields: string[];
  @Column('jsonb') changes: Record<string, unknown>;
  @Column('text', { name: 'correlation_id', nullable: true }) correlationId: string | null;
  @Column('timestamptz', { default: () => 'now()' }) at: Date;
}

export type EscalationState = 'requested' | 'starting' | 'queued' | 'active' | 'ended' | 'failed' | 'timed_out';
export const OPEN_STATES: readonly EscalationState[] = ['requested', 'starting', 'queued', 'active'];
export const FINAL_STATES: readonly EscalationState[] = ['ended', 'failed', 'timed_out'];

@Entity('conversations')
export class ConversationEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid', { name: 'domain_id' }) domainId: string;
  @Column('text', { name: 'external_id' }) externalId: string;
  @Column('text') channel: string;
  /** Set for a conversation a channel gateway opened (its `channel_conversations` row has the same id). */
  @Column('uuid', { name: 'channel_gateway_id', nullable: true }) channelGatewayId: string | null;
  @Column('text') control: 'bot' | 'agent';
  @Column('timestamptz', { name: 'closed_at', nullable: true }) closedAt: Date | null;
  @Column('integer', { name: 'last_seq' }) lastSeq: number;
  @Column('integer', { name: 'delivered_seq' }) deliveredSeq: number;
  @Column('integer', { name: 'delivery_attempts' }) deliveryAttempts: number;
  @Column('timestamptz', { name: 'next_delivery_at', nullable: true }) nextDeliveryAt: Date | null;
  /** The delivery pass holding the conversation (its events are being sent) until `deliveryClaimedUntil`. */
  @Column('uuid', { name: 'delivery_claim', nullable: true }) deliveryClaim: string | null;
  @Column('timestamptz', { name: 'delivery_claimed_until', nullable: true }) deliveryClaimedUntil: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

@Entity('escalations')
export class EscalationEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid', { name: 'conversation_id' }) conversationId: string;
  @Column('uuid', { name: 'domain_id' }) domainId: string;
  @Column('uuid', { name: 'gateway_id' }) gatewayId: string;
  @Column('text') state: EscalationState;
  @Column('text', { name: 'idempotency_key', nullable: true }) idempotencyKey: string | null;
  @Column('text', { name: 'request_hash' }) requestHash: string;
  @Column('text', { name: 'requested_by' }) requestedBy: string;
  @Column('text', { nullable: true }) queue: string | null;
  @Column('jsonb', { name: 'end_user' }) endUser: Record<string, string>;
  @Column('jsonb') attributes: Record<string, string>;
  @Column('jsonb') history: unknown[];
  @Column('text', { name: 'session_enc', nullable: true }) sessionEnc: string | null;
  @Column('text', { name: 'platform_conversation_id', nullable: true }) platformConversationId: string | null;
  @Column('text', { nullable: true }) cursor: string | null;
  @Column('jsonb', { nullable: true }) agent: Record<string, unknown> | null;
  @Column('integer', { name: 'start_attempts' }) startAttempts: number;
  @Column('timestamptz', { name: 'next_start_at', nullable: true }) nextStartAt: Date | null;
  @Column('timestamptz', { name: 'timeout_at' }) timeoutAt: Date;
  @Column('timestamptz', { name: 'next_poll_at', nullable: true }) nextPollAt: Date | null;
  @Column('integer', { name: 'relay_seq' }) relaySeq: number;
  @Column('text', { name: 'ended_by', nullable: true }) endedBy: string | null;
  @Column('text', { name: 'end_reason', nullable: true }) endReason: string | null;
  @Column('text', { name: 'failure_reason', nullable: true }) failureReason: string | null;
  /**
   * A relay found the platform session over at this time; the platform's close webhook is awaited (see
   * `EscalationLifecycle.sessionEndedUnderRelay`).
   */
  @Column('timestamptz', { name: 'session_gone_at', nullable: true }) sessionGoneAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column('timestamptz', { name: 'ended_at', nullable: true }) endedAt: Date | null;
}

@Entity('escalation_transitions')
export class EscalationTransitionEntity {
  @PrimaryColumn('bigint', { generated: 'increment' }) id: string;
  @Column('uuid', { name: 'escalation_id' }) escalationId: string;
  @Column('text', { name: 'from_state', nullable: true }) fromState: EscalationState | null;
  @Column('text', { name: 'to_state' }) toState: EscalationState;
  @Column('text') reason: string;
  @Column('timestamptz') at: Date;
}

@Entity('relay_commands')
export class RelayCommandEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid', { name: 'escalation_id' }) escalationId: string;
  @Column('integer') seq: number;
  @Column('text') kind: 'message' | 'typing' | 'end' | 'transfer';
  @Column('text') author: 'user' | 'bot';
  @Column('text', { name: 'client_message_id', nullable: true }) clientMessageId: string | null;
  @Column('jsonb') payload: Record<string, unknown>;
  @Column('text') status: 'pending' | 'sent' | 'failed' | 'skipped';
  @Column('integer') attempts: number;
  @Column('timestamptz', { name: 'next_attempt_at', nullable: true }) nextAttemptAt: Date | null;
  @Column('text', { name: 'last_error', nullable: true }) lastError: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt: Date | null;
}

@Entity('events')
export class EventEntity {
  @PrimaryColumn('bigint', { generated: 'increment' }) id: string;
  @Column('uuid', { name: 'conversation_id' }) conversationId: string;
  @Column('integer') seq: number;
  @Column('uuid', { name: 'escalation_id', nullable: true }) escalationId: string | null;
  @Column('text') type: string;
  @Column('jsonb') data: Record<string, unknown>;
  @Column('text', { name: 'platform_key', nullable: true }) platformKey: string | null;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt: Date;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  /**
   * Written for the outcomes other than success ('abandoned', 'no_callback'; old rows may also say 'delivered'). A
   * success moves the conversation's delivered_seq only: read the status through `withDelivery`.
   */
  @Column('text', { name: 'delivery_status' }) deliveryStatus: 'pending' | 'delivered' | 'abandoned' | 'no_callback';
  /** The failed attempts (all attempts, for an event given up); `withDelivery` adds the successful one. */
  @Column('integer', { name: 'delivery_attempts' }) deliveryAttempts: number;
}

/** The channel side of a conversation that a channel gateway opened (same id as its `conversations` row). */
@Entity('channel_conversations')
export class ChannelConversationEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'gateway_id' }) gatewayId: string;
  @Column('text', { name: 'platform_conversation_id' }) platformConversationId: string;
  @Column('jsonb') user: { id: string; name?: string; locale?: string };
  @Column('jsonb', { nullable: true }) reference: Record<string, unknown> | null;
  @Column('integer', { name: 'next_outbound_seq' }) nextOutboundSeq: number;
  /** The sender holding the conversation (one at a time, in order) until `sendClaimedUntil`. */
  @Column('uuid', { name: 'send_claim', nullable: true }) sendClaim: string | null;
  @Column('timestamptz', { name: 'send_claimed_until', nullable: true }) sendClaimedUntil: Date | null;
  /** Why the user cannot be written to first now (a channel's unreachable reason), null when they can. */
  @Column('text', { name: 'unreachable_reason', nullable: true }) unreachableReason: string | null;
  @Column('timestamptz', { name: 'reachability_at', nullable: true }) reachabilityAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

export type OutboundStatus = 'accepted' | 'sent' | 'delivered' | 'read' | 'failed';

/** A message (or typing) the service sends to a channel's user: stored before it is sent, with its status. */
@Entity('outbound_messages')
export class OutboundMessageEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('uuid', { name: 'conversation_id' }) conversationId: string;
  @Column('integer') seq: number;
  @Column('text') kind: 'message' | 'typing';
  @Column('text') author: 'bot' | 'agent';
  @Column('text', { name: 'author_name', nullable: true }) authorName: string | null;
  @Column('jsonb') activity: Record<string, unknown>;
  @Column('text') status: OutboundStatus;
  @Column('text', { nullable: true }) reason: string | null;
  @Column('text', { nullable: true }) detail: string | null;
  @Column('text', { name: 'platform_message_id', nullable: true }) platformMessageId: string | null;
  @Column('uuid', { name: 'gateway_id' }) gatewayId: string;
  @Column('text', { name: 'idempotency_key', nullable: true }) idempotencyKey: string | null;
  @Column('text', { name: 'request_hash', nullable: true }) requestHash: string | null;
  @Column('integer') attempts: number;
  /** Set when an attempt starts and cleared when it settles: still set at the next attempt means one was cut short. */
  @Column('timestamptz', { name: 'attempt_started_at', nullable: true }) attemptStartedAt: Date | null;
  @Column('timestamptz', { name: 'next_attempt_at', nullable: true }) nextAttemptAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt: Date | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

export const ENTITIES = [
  RoleEntity,
  ServiceAccountEntity,
  ApiKeyEntity,
  DomainEntity,
  GatewayEntity,
  GatewayAuditEntity,
  ConversationEntity,
  EscalationEntity,
  EscalationTransitionEntity,
  RelayCommandEntity,
  EventEntity,
  ChannelConversationEntity,
  OutboundMessageEntity,
];
