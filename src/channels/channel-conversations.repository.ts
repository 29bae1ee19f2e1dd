import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { ChannelUser } from '@app/gateway-sdk';
import { ChannelConversationEntity, OutboundMessageEntity, OutboundStatus } from '../database/entities';
import { prepared } from '../database/prepared';
import { RowLease } from '../database/row-lease';

/** A new outbound message, as the bot API or the switchboard asks for it. */
export interface NewOutboundMessage {
  conversationId: string;
  gatewayId: string;
  kind: 'message' | 'typing';
  author: 'bot' | 'agent';
  authorName: string | null;
  activity: Record<string, unknown>;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** Not sent before this (a proactive message stored in the gateway's quiet hours). */
  notBefore?: Date | null;
}

/** What the proactive API needs to know of a channel conversation before it writes to its user. */
export interface Reachability {
  id: string;
  gatewayId: string;
  userId: string;
  unreachableReason: string | null;
  lastUserMessageAt: Date | null;
}

function reachabilityOfRow(row: Record<string, any>): Reachability {
  return { id: row.id, gatewayId: row.gateway_id, userId: row.user_id, unreachableReason: row.unreachable_reason, lastUserMessageAt: row.last_user_message_at };
}

/** An `outbound_messages` row as the entity (what `RETURNING *` gives, without a read through the ORM). */
function messageOfRow(row: Record<string, any>): OutboundMessageEntity {
  return Object.assign(new OutboundMessageEntity(), {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    kind: row.kind,
    author: row.author,
    authorName: row.author_name,
    activity: row.activity,
    status: row.status,
    reason: row.reason,
    detail: row.detail,
    platformMessageId: row.platform_message_id,
    gatewayId: row.gateway_id,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    attempts: row.attempts,
    attemptStartedAt: row.attempt_started_at,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    updatedAt: row.updated_at,
  });
}

/** The channel side of conversations and their outbound messages: the only writer of both tables. */
@Injectable()
export class ChannelConversationsRepository {
  private readonly sendLease: RowLease;

  constructor(@InjectDataSource() private readonly db: DataSource) {
    this.sendLease = new RowLease(db, 'channel_conversations', 'send_claim', 'send_claimed_until');
  }

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Serializes the first activities of one platform conversation (two deliveries at once must not create it twice)
   * until the transaction ends, without a row to lock yet.
   */
  async lockPlatformConversation(em: EntityManager, gatewayId: string, platformConversationId: string): Promise<void> {
    // A gateway id is a UUID (fixed length): joined with ':' the pair cannot be read two ways.
    await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 20))`, [gatewayId, platformConversationId]);
  }

  /**
   * A platform conversation's channel conversation, its conversation row locked for numbering events (as
   * `ConversationsRepository.lockForEvents` locks it), with the user and reference stored: one round trip on the path
   * every user activity takes, which is why it reads the conversation core's row here (docs/architecture.md: reads
   * across modules only inside single statements on hot paths). Null when the conversation does not exist yet.
   */
  async lockByPlatform(
    em: EntityManager,
    gatewayId: string,
    platformConversationId: string,
  ): Promise<{
    id: string;
    domainId: string;
    lastSeq: number;
    control: 'bot' | 'agent';
    closedAt: Date | null;
    user: ChannelUser;
    reference: Record<string, unknown> | null;
    unreachableReason: string | null;
  } | null> {
    const [row] = await em.query(
      `SELECT c.id, c.domain_id, c.last_seq, c.control, c.closed_at, cc."user", cc.reference, cc.unreachable_reason
         FROM channel_conversations cc JOIN conversations c ON c.id = cc.id
        WHERE cc.gateway_id = $1 AND cc.platform_conversation_id = $2
          FOR UPDATE OF c`,
      [gatewayId, platformConversationId],
    );
    if (!row) return null;
    return {
      id: row.id,
      domainId: row.domain_id,
      lastSeq: row.last_seq,
      control: row.control,
      closedAt: row.closed_at,
      user: row.user,
      reference: row.reference,
      unreachableReason: row.unreachable_reason,
    };
  }

  async create(em: EntityManager, fields: { id: string; gatewayId: string; platformConversationId: string; user: ChannelUser; reference: Record<string, unknown> | null }): Promise<void> {
    await em.query(`INSERT INTO channel_conversations (id, gateway_id, platform_conversation_id, "user", reference) VALUES ($1, $2, $3, $4, $5)`, [
      fields.id,
      fields.gatewayId,
      fields.platformConversationId,
      JSON.stringify(fields.user),
      fields.reference === null ? null : JSON.stringify(fields.reference),
    ]);
  }

  /** The latest user and reference a user activity carried (latest wins: a Teams service URL can move). */
  async refresh(em: EntityManager, id: string, user: ChannelUser, reference: Record<string, unknown> | undefined): Promise<void> {
    await em.query(`UPDATE channel_conversations SET "user" = $2, reference = coalesce($3::jsonb, reference), updated_at = now() WHERE id = $1`, [
      id,
      JSON.stringify(user),
      reference === undefined ? null : JSON.stringify(reference),
    ]);
  }

  /** Whether the user can be written to first (null) or why not; changed by user activities and by failed sends. */
  async setReachability(em: EntityManager, id: string, unreachableReason: string | null): Promise<void> {
    await em.query(`UPDATE channel_conversations SET unreachable_reason = $2, reachability_at = now() WHERE id = $1`, [id, unreachableReason]);
  }

  /**
   * The conversation a proactive message to a user goes to: the channel's latest conversation with them on this
   * gateway (Teams, SMS and WhatsApp have one per user), with whether they can be written to first.
   */
  async recipient(gatewayId: string, userId: string): Promise<Reachability | null> {
    const [row] = await this.db.query(
      `SELECT id, gateway_id, "user" ->> 'id' AS user_id, unreachable_reason, last_user_message_at
         FROM channel_conversations WHERE gateway_id = $1 AND ("user" ->> 'id') = $2 ORDER BY updated_at DESC LIMIT 1`,
      [gatewayId, userId],
    );
    return row ? reachabilityOfRow(row) : null;
  }

  /** A channel conversation by the service's id, with its gateway and reachability; null for another conversation. */
  async reachability(id: string): Promise<Reachability | null> {
    const [row] = await this.db.query(
      `SELECT id, gateway_id, "user" ->> 'id' AS user_id, unreachable_reason, last_user_message_at FROM channel_conversations WHERE id = $1`,
      [id],
    );
    return row ? reachabilityOfRow(row) : null;
  }

  /** The user wrote: the channel's service window (WhatsApp's 24 hours) is counted from now. */
  async touchUserMessage(em: EntityManager, id: string, at: Date): Promise<void> {
    await em.query(`UPDATE channel_conversations SET last_user_message_at = greatest(last_user_message_at, $2) WHERE id = $1`, [id, at]);
  }

  // --- a gateway's opt-out list ---

  async isOptedOut(gatewayId: string, userId: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 FROM channel_opt_outs WHERE gateway_id = $1 AND user_id = $2`, [gatewayId, userId]);
    return rows.length > 0;
  }

  /** Puts the user on the list (again: the latest source and note win). Answers whether they were not on it. */
  async optOut(em: EntityManager | null, entry: { gatewayId: string; userId: string; source: 'user' | 'operator'; note?: string | null; actor?: string | null }): Promise<boolean> {
    const rows = await prepared<{ created: boolean }>(
      em ?? this.db,
      `INSERT INTO channel_opt_outs (gateway_id, user_id, source, note, actor) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (gateway_id, user_id) DO UPDATE SET source = EXCLUDED.source, note = EXCLUDED.note, actor = EXCLUDED.actor
       RETURNING (xmax = 0) AS created`,
      [entry.gatewayId, entry.userId, entry.source, entry.note ?? null, entry.actor ?? null],
    );
    return rows[0]?.created === true;
  }

  /** Takes the user off the list; answers whether they were on it. */
  async optIn(em: EntityManager | null, gatewayId: string, userId: string): Promise<boolean> {
    // prepared(): TypeORM's query() answers a DELETE's rows wrapped with its count.
    const rows = await prepared(em ?? this.db, `DELETE FROM channel_opt_outs WHERE gateway_id = $1 AND user_id = $2 RETURNING user_id`, [gatewayId, userId]);
    return rows.length > 0;
  }

  async optOuts(gatewayId: string, limit: number, after: string | null): Promise<{ userId: string; source: string; note: string | null; actor: string | null; createdAt: Date }[]> {
    const rows: Record<string, any>[] = await this.db.query(
      `SELECT user_id, source, note, actor, created_at FROM channel_opt_outs WHERE gateway_id = $1 AND ($2::text IS NULL OR user_id > $2) ORDER BY user_id LIMIT $3`,
      [gatewayId, after, limit],
    );
    return rows.map((row) => ({ userId: row.user_id, source: row.source, note: row.note, actor: row.actor, createdAt: row.created_at }));
  }

  /** Read on every send:

  // --- proactive requests: an Idempotency-Key of POST /v1/notifications and /v1/conversations, per domain ---

  /** Serializes the requests of one domain and key until the transaction ends (the second one replays the first). */
  async lockProactiveKey(em: EntityManager, domainId: string, key: string): Promise<void> {
    await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 21))`, [domainId, key]);
  }

  async proactiveByKey(em: EntityManager, domainId: string, key: string): Promise<{ kind: string; requestHash: string; conversationId: string; messageId: string } | null> {
    const [row] = await em.query(`SELECT kind, request_hash, conversation_id, message_id FROM proactive_requests WHERE domain_id = $1 AND idempotency_key = $2`, [domainId, key]);
    return row ? { kind: row.kind, requestHash: row.request_hash, conversationId: row.conversation_id, messageId: row.message_id } : null;
  }

  async addProactive(em: EntityManager, row: { domainId: string; key: string; kind: 'notification' | 'conversation'; requestHash: string; conversationId: string; messageId: string }): Promise<void> {
    await em.query(`INSERT INTO proactive_requests (domain_id, idempotency_key, kind, request_hash, conversation_id, message_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      row.domainId,
      row.key,
      row.kind,
      row.requestHash,
      row.conversationId,
      row.messageId,
    ]);
  }

  /** Read on every send: a prepared statement, not the ORM's query builder (which cost more than the query). */
  async get(id: string): Promise<ChannelConversationEntity | null> {
    const [row] = await prepared<Record<string, any>>(
      this.db,
      `SELECT id, gateway_id, platform_conversation_id, "user", reference, next_outbound_seq, send_claim, send_claimed_until, created_at, updated_at
         FROM channel_conversations WHERE id = $1`,
      [id],
    );
    if (!row) return null;
    return Object.assign(new ChannelConversationEntity(), {
      id: row.id,
      gatewayId: row.gateway_id,
      platformConversationId: row.platform_conversation_id,
      user: row.user,
      reference: row.reference,
      nextOutboundSeq: row.next_outbound_seq,
      sendClaim: row.send_claim,
      sendClaimedUntil: row.send_claimed_until,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    });
  }

  /** A channel conversation's gateway and channel type, in the caller's transaction; null for another conversation. */
  async channelOf(em: EntityManager, id: string): Promise<{ gatewayId: string; channel: string } | null> {
    const [row] = await em.query(`SELECT channel, channel_gateway_id FROM conversations WHERE id = $1 AND channel_gateway_id IS NOT NULL`, [id]);
    return row ? { gatewayId: row.channel_gateway_id, channel: row.channel } : null;
  }

  // --- outbound messages ---

  /** Stores a message with the conversation's next outbound sequence number (the conversation row is the counter). */
  async addMessage(em: EntityManager, message: NewOutboundMessage): Promise<OutboundMessageEntity> {
    // prepared(): TypeORM's query() answers an UPDATE's rows wrapped with its count.
    const [{ seq }] = await prepared<{ seq: number }>(
      em,
      `UPDATE channel_conversations SET next_outbound_seq = next_outbound_seq + 1 WHERE id = $1 RETURNING next_outbound_seq - 1 AS seq`,
      [message.conversationId],
    );
    // The stored row comes back with the insert: no second read of it (every outbound message takes this path).
    const [row] = await prepared<Record<string, any>>(
      em,
      `INSERT INTO outbound_messages (conversation_id, seq, kind, author, author_name, activity, gateway_id, idempotency_key, request_hash, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        message.conversationId,
        seq,
        message.kind,
        message.author,
        message.authorName,
        JSON.stringify(message.activity),
        message.gatewayId,
        message.idempotencyKey,
        message.requestHash,
        message.notBefore ?? null,
      ],
    );
    return messageOfRow(row);
  }

  findByIdempotencyKey(em: EntityManager | null, conversationId: string, key: string): Promise<OutboundMessageEntity | null> {
    return (em ?? this.db.manager).getRepository(OutboundMessageEntity).findOneBy({ conversationId, idempotencyKey: key });
  }

  message(conversationId: string, id: string): Promise<OutboundMessageEntity | null> {
    return this.db.getRepository(OutboundMessageEntity).findOneBy({ conversationId, id });
  }

  /** The first message still to send, in sequence order (those behind it wait for it). */
  async nextPending(conversationId: string): Promise<OutboundMessageEntity | null> {
    // Read twice per send: a prepared statement on the pending index, not the ORM's query builder.
    const [row] = await prepared<Record<string, any>>(this.db, `SELECT * FROM outbound_messages WHERE conversation_id = $1 AND status = 'accepted' ORDER BY seq LIMIT 1`, [conversationId]);
    return row ? messageOfRow(row) : null;
  }

  /** Counts an attempt before the platform is called: one cut short (the worker died) is still counted. */
  async startAttempt(id: string): Promise<void> {
    await this.db.query(`UPDATE outbound_messages SET attempts = attempts + 1, attempt_started_at = now(), next_attempt_at = NULL, updated_at = now() WHERE id = $1`, [id]);
  }

  /** Answers whether it moved the message on (false: it was settled already, by an earlier attempt). */
  async markSent(em: EntityManager, id: string, platformMessageId: string | null, detail: string | null): Promise<boolean> {
    const rows = await prepared(
      em,
      `UPDATE outbound_messages SET status = 'sent', platform_message_id = $2, detail = $3, sent_at = now(), attempt_started_at = NULL, updated_at = now() WHERE id = $1 AND status = 'accepted' RETURNING id`,
      [id, platformMessageId, detail],
    );
    return rows.length > 0;
  }

  /** Answers whether it moved the message on (false: it was settled already, by an earlier attempt). */
  async markFailed(em: EntityManager, id: string, reason: string, detail: string | null): Promise<boolean> {
    const rows = await prepared(
      em,
      `UPDATE outbound_messages SET status = 'failed', reason = $2, detail = $3, attempt_started_at = NULL, updated_at = now() WHERE id = $1 AND status = 'accepted' RETURNING id`,
      [id, reason, detail],
    );
    return rows.length > 0;
  }

  async retryAt(id: string, at: Date, detail: string): Promise<void> {
    await this.db.query(`UPDATE outbound_messages SET next_attempt_at = $2, detail = $3, attempt_started_at = NULL, updated_at = now() WHERE id = $1`, [id, at, detail]);
  }

  /** The message a receipt names, locked in the receipt's transaction. */
  async lockByPlatformId(em: EntityManager, gatewayId: string, platformMessageId: string): Promise<OutboundMessageEntity | null> {
    const [row] = await em.query(`SELECT id FROM outbound_messages WHERE gateway_id = $1 AND platform_message_id = $2 ORDER BY created_at DESC LIMIT 1 FOR UPDATE`, [
      gatewayId,
      platformMessageId,
    ]);
    return row ? em.getRepository(OutboundMessageEntity).findOneByOrFail({ id: row.id }) : null;
  }

  /** A receipt for a message id no send has recorded yet: kept for the send that will (once per status). */
  async keepEarlyReceipt(em: EntityManager, gatewayId: string, receipt: { platformMessageId: string; status: OutboundStatus; reason?: string | null; detail?: string | null }): Promise<void> {
    await prepared(
      em,
      `INSERT INTO channel_early_receipts (gateway_id, platform_message_id, status, reason, detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [gatewayId, receipt.platformMessageId, receipt.status, receipt.reason ?? null, receipt.detail ?? null],
    );
  }

  /** The receipts that came before the send recorded this message id, taken (deleted) in the send's transaction. */
  async takeEarlyReceipts(em: EntityManager, gatewayId: string, platformMessageId: string): Promise<{ status: OutboundStatus; reason: string | null; detail: string | null }[]> {
    return prepared<{ status: OutboundStatus; reason: string | null; detail: string | null }>(
      em,
      `DELETE FROM channel_early_receipts WHERE gateway_id = $1 AND platform_message_id = $2 RETURNING status, reason, detail`,
      [gatewayId, platformMessageId],
    );
  }

  async setStatus(em: EntityManager, id: string, status: OutboundStatus, reason: string | null, detail: string | null): Promise<void> {
    await em.query(`UPDATE outbound_messages SET status = $2, reason = coalesce($3, reason), detail = coalesce($4, detail), updated_at = now() WHERE id = $1`, [id, status, reason, detail]);
  }

  /** Conversations with messages still to send (the reconcile pass's look after a restart). */
  async conversationsWithPending(): Promise<string[]> {
    const rows: { conversation_id: string }[] = await this.db.query(`SELECT DISTINCT conversation_id FROM outbound_messages WHERE status = 'accepted'`);
    return rows.map((row) => row.conversation_id);
  }

  // --- the send lease: one sender per conversation, whatever Redis says ---

  takeSendLease(id: string, token: string, termMs: number): Promise<boolean> {
    return this.sendLease.take(id, token, termMs);
  }

  renewSendLease(id: string, token: string, termMs: number): Promise<boolean> {
    return this.sendLease.renew(id, token, termMs);
  }

  releaseSendLease(id: string, token: string): Promise<void> {
    return this.sendLease.release(id, token);
  }
}
