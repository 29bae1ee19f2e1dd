import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { signWebhook } from '@app/client';
import { DataSource } from 'typeorm';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { SecretCipher } from '../crypto/secret-cipher';
import { RedisLock } from '../queues/redis-lock';
import { JobDispatcher } from '../escalations/job-dispatcher.service';
import { prepared } from '../database/prepared';
import { postCallback } from './callback-http';

const BATCH = 50;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 3_600_000;
const LOCK_TTL_MS = 10_000;

interface ConversationRow {
  id: string;
  external_id: string;
  delivered_seq: number;
  last_seq: number;
  delivery_attempts: number;
  next_delivery_at: Date | null;
  domain: string;
  callback_url: string | null;
  signing_secret: string | null;
}

/** A successful delivery not yet recorded. */
interface Delivered {
  eventId: string;
  seq: number;
  attempt: number;
  status: number;
  durationMs: number;
}

interface EventRow {
  id: string;
  seq: number;
  escalation_id: string | null;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date;
  created_at: Date;
}

/** An event's columns as the drain's query names them (null when the conversation has no event to deliver). */
interface EventColumns {
  event_id: string | null;
  event_seq: number | null;
  escalation_id: string | null;
  type: string | null;
  data: Record<string, unknown> | null;
  occurred_at: Date | null;
  created_at: Date | null;
}

/** The body POSTed to the bot platform for each event. */
export function deliveryBody(conversation: ConversationRow, event: EventRow): string {
  return JSON.stringify({
    id: `evt_${event.id}`,
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

/**
 * Delivers a conversation's events to its domain's callback, signed, strictly in sequence order. A failing callback
 * holds that conversation only; it is retried with exponential backoff until the event is older than
 * DELIVERY_MAX_AGE_SECONDS, then recorded as abandoned (still replayable) and the next event goes.
 */
@Injectable()
export class DeliveryService {
  private readonly log: ComponentLogger;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: SecretCipher,
    private readonly lock: RedisLock,
    private readonly jobs: JobDispatcher,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.log = logger.child('delivery');
  }

  async deliver(conversationId: string): Promise<void> {
    await this.lock.coalesce(
      `deliver:${conversationId}`,
      LOCK_TTL_MS,
      () => this.drain(conversationId),
      (delayMs) => this.jobs.deliver(conversationId, `check-${Date.now()}`, delayMs),
    );
  }

  private async drain(conversationId: string): Promise<void> {
    for (;;) {
      // The conversation and its next batch of events in one round trip (the events repeat it per row).
      const rows = await prepared<ConversationRow & EventColumns>(
        this.db,
        `SELECT c.id, c.external_id, c.delivered_seq, c.last_seq, c.delivery_attempts, c.next_delivery_at, d.name AS domain, d.callback_url, d.signing_secret,
                e.id AS event_id, e.seq AS event_seq, e.escalation_id, e.type, e.data, e.occurred_at, e.created_at
           FROM conversations c JOIN domains d ON d.id = c.domain_id
           LEFT JOIN LATERAL (
             SELECT id, seq, escalation_id, type, data, occurred_at, created_at FROM events
              WHERE conversation_id = c.id AND seq > c.delivered_seq ORDER BY seq LIMIT ${BATCH}
           ) e ON true
          WHERE c.id = $1
          ORDER BY e.seq`,
        [conversationId],
      );
      const conversation = rows[0];
      if (!conversation || conversation.delivered_seq >= conversation.last_seq) return;
      if (conversation.next_delivery_at && conversation.next_delivery_at.getTime() > Date.now()) {
        await this.jobs.deliver(conversationId, `retry-${conversation.delivered_seq}-${conversation.delivery_attempts}`, conversation.next_delivery_at.getTime() - Date.now());
        return;
      }
      const events: EventRow[] = rows
        .filter((row) => row.event_id !== null)
        .map((row) => ({ id: row.event_id!, seq: row.event_seq!, escalation_id: row.escalation_id, type: row.type!, data: row.data!, occurred_at: row.occurred_at!, created_at: row.created_at! }));
      if (events.length === 0) return;
      const secret = conversation.signing_secret ? this.cipher.decrypt(conversation.signing_secret) : null;
      // Successful deliveries of this batch are recorded together, in one statement, when the batch ends or before
      // anything else is recorded. A crash in between sends those events again: delivery is at least once, and the
      // bot platform drops a webhook-id it has seen (Standard Webhooks); the order is kept either way.
      const delivered: Delivered[] = [];
      try {
        for (const event of events) {
          const keepGoing = await this.deliverOne(conversation, event, secret, delivered);
          if (!keepGoing) return;
          conversation.delivery_attempts = 0;
        }
      } finally {
        await this.recordDelivered(conversation.id, delivered);
      }
      // A short batch was everything there was. Events stored since have their own delivery job, which runs after
      // this one (JobDispatcher.deliverNew), so there is no need to look again.
      if (events.length < BATCH) return;
    }
  }

  /** Returns false when the conversation must wait (a retry is scheduled). */
  private async deliverOne(conversation: ConversationRow, event: EventRow, secret: string | null, delivered: Delivered[]): Promise<boolean> {
    if (!conversation.callback_url) {
      await this.recordDelivered(conversation.id, delivered);
      await this.settle(conversation.id, event, 'no_callback', conversation.delivery_attempts, null, 'domain has no callback URL', 0);
      return true;
    }
    const body = deliveryBody(conversation, event);
    const webhookId = `evt_${event.id}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'chat-gateway-webhooks/1',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
    };
    if (secret) headers['webhook-signature'] = signWebhook(secret, webhookId, timestamp, body);
    const attempt = conversation.delivery_attempts + 1;
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await postCallback(conversation.callback_url, headers, body, REQUEST_TIMEOUT_MS);
      if (status < 200 || status >= 300) error = `callback answered ${status}`;
    } catch (failure) {
      error = (failure as Error).message;
    }
    const durationMs = Date.now() - started;
    if (!error) {
      delivered.push({ eventId: event.id, seq: event.seq, attempt, status: status!, durationMs });
      return true;
    }
    await this.recordDelivered(conversation.id, delivered);
    const ageMs = Date.now() - event.created_at.getTime();
    if (ageMs > this.config.DELIVERY_MAX_AGE_SECONDS * 1000) {
      this.log.warn('delivery abandoned', { conversationId: conversation.id, seq: event.seq, attempts: attempt, error });
      await this.settle(conversation.id, event, 'abandoned', attempt, status, error, durationMs);
      return true;
    }
    const delayMs = Math.min(1000 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)),
            e AS (UPDATE events SET delivery_attempts = $2 WHERE id = $1)
       UPDATE conversations SET delivery_attempts = $2, next_delivery_at = now() + ($6 || ' milliseconds')::interval WHERE id = $7`,
      [event.id, attempt, status, error.slice(0, 500), durationMs, String(delayMs), conversation.id],
    );
    this.log.info('delivery failed; retrying', { conversationId: conversation.id, seq: event.seq, attempt, delayMs, error });
    await this.jobs.deliver(conversation.id, `retry-${event.seq}-${attempt}`, delayMs);
    return false;
  }

  /** Records the successful deliveries collected so far (attempts, event status, the conversation's cursor), then forgets them. */
  private async recordDelivered(conversationId: string, delivered: Delivered[]): Promise<void> {
    if (delivered.length === 0) return;
    const batch = delivered.splice(0);
    // Not prepared: a generic plan of the join with unnest() (assumed 100 rows) scans where a plan for the actual
    // few rows looks them up by id (measured ~5x slower in PostgreSQL).
    await this.db.query(
      `WITH d AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[]) AS d(event_id, attempt, status_code, duration_ms)),
            a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) SELECT event_id, attempt, status_code, NULL, duration_ms FROM d),
            e AS (UPDATE events SET delivery_status = 'delivered', delivery_attempts = d.attempt, delivered_at = now() FROM d WHERE events.id = d.event_id)
       UPDATE conversations SET delivered_seq = GREATEST(delivered_seq, $5), delivery_attempts = 0, next_delivery_at = NULL WHERE id = $6`,
      [batch.map((d) => d.eventId), batch.map((d) => d.attempt), batch.map((d) => d.status), batch.map((d) => d.durationMs), batch[batch.length - 1].seq, conversationId],
    );
  }

  private async settle(
    conversationId: string,
    event: EventRow,
    outcome: 'abandoned' | 'no_callback',
    attempt: number,
    status: number | null,
    error: string | null,
    durationMs: number,
  ): Promise<void> {
    const recordAttempt = outcome !== 'no_callback';
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) SELECT $1, $2, $3, $4, $5 WHERE $6),
            e AS (UPDATE events SET delivery_status = $7, delivery_attempts = $2, delivered_at = NULL WHERE id = $1)
       UPDATE conversations SET delivered_seq = GREATEST(delivered_seq, $8), delivery_attempts = 0, next_delivery_at = NULL WHERE id = $9`,
      [event.id, attempt, status, error, durationMs, recordAttempt, outcome, event.seq, conversationId],
    );
  }
}
