import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Statement } from '../database/combined-statement';
import { pgPool, prepared } from '../database/prepared';
import { InboundWebhookRow, InboundWebhookWriter } from './inbound-webhook.writer';

// The `= ANY` names the rows to a prepared statement's generic plan, which otherwise may scan for the unnest() join.
const MARK_PROCESSED = `
  UPDATE inbound_webhooks w SET processed_at = now(), outcome = d.outcome
    FROM unnest($1::bigint[], $2::text[]) AS d(id, outcome) WHERE w.id = d.id AND w.id = ANY($1::bigint[])`;

/**
 * A gateway's pending deliveries ($1; $2 the reorder window in ms, $3 at most this many) by conversation, each with
 * its conversation's escalation (the latest; none yet is possible). A prepared statement: its generic plan must find
 * each escalation with one probe of `escalations_gateway_platform_idx` (the int tests plan it).
 */
export const PENDING_WEBHOOKS = `
  SELECT w.id, w.event_id, w.platform_conversation_id, w.headers, w.body, w.received_at,
         greatest(0, ceil(extract(epoch FROM w.received_at + ($2 || ' milliseconds')::interval - now()) * 1000))::int AS wait_ms,
         e.id AS escalation_id, e.session_enc
    FROM inbound_webhooks w
    LEFT JOIN LATERAL (
      SELECT id, session_enc FROM escalations WHERE gateway_id = $1 AND platform_conversation_id = w.platform_conversation_id ORDER BY created_at DESC LIMIT 1
    ) e ON true
   WHERE w.gateway_id = $1 AND w.processed_at IS NULL AND w.platform_conversation_id IS NOT NULL
   ORDER BY w.platform_conversation_id, coalesce(w.occurred_at, w.received_at), w.id
   LIMIT $3`;

// received_at bounds the scan to the oldest pages (the BRIN index); processed_at is the rule itself, and is never
// before received_at. A delivery not processed yet is never deleted, however old.
const DELETE_BATCH = `
  DELETE FROM inbound_webhooks WHERE id IN (
    SELECT id FROM inbound_webhooks
     WHERE received_at < $1::timestamptz AND processed_at < $1::timestamptz
     LIMIT $2)`;

/** A stored delivery waiting to be turned into events, with its conversation's escalation (if there is one yet). */
export interface StoredWebhook {
  id: string;
  event_id: string;
  platform_conversation_id: string;
  headers: Record<string, string>;
  body: Buffer;
  received_at: Date;
  /** Milliseconds until the delivery's reorder window is over (0: due). */
  wait_ms: number;
  /** The conversation's escalation (the same on every row of a conversation), if there is one yet. */
  escalation_id: string | null;
  session_enc: string | null;
}

/** A processed delivery and what became of it. */
export interface ProcessedWebhook {
  id: string;
  outcome: string;
}

/**
 * Platform webhook deliveries as received: stored raw before the platform gets its answer (grouped into few
 * statements under load), deduplicated by the platform's event id, processed in platform-time order, deleted some
 * time after. The pending read joins each conversation's escalation in: one probe of its index per conversation,
 * where a second statement would cost a pass another round trip.
 */
@Injectable()
export class InboundWebhooksRepository {
  private readonly writer = new InboundWebhookWriter(() => pgPool(this.db));

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Resolves true when the delivery was stored, false when its event id was stored before. */
  store(row: InboundWebhookRow): Promise<boolean> {
    return this.writer.store(row);
  }

  /** A gateway's deliveries due or waiting out their reorder window, by conversation and platform time. */
  pending(gatewayId: string, windowMs: number, limit: number): Promise<StoredWebhook[]> {
    return prepared<StoredWebhook>(this.db, PENDING_WEBHOOKS, [gatewayId, String(windowMs), limit]);
  }

  markProcessedStatement(done: ProcessedWebhook[]): Statement {
    return { sql: MARK_PROCESSED, values: [done.map((d) => d.id), done.map((d) => d.outcome)] };
  }

  async markProcessed(done: ProcessedWebhook[]): Promise<void> {
    const { sql, values } = this.markProcessedStatement(done);
    await prepared(this.db, sql, values);
  }

  /** Whether a delivery of the platform conversation is stored and not processed yet. */
  async hasPending(gatewayId: string, platformConversationId: string | null): Promise<boolean> {
    const [{ pending }] = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM inbound_webhooks WHERE gateway_id = $1 AND platform_conversation_id = $2 AND processed_at IS NULL) AS pending`,
      [gatewayId, platformConversationId],
    );
    return pending;
  }

  /** Reconcile: the gateways with deliveries not processed yet. */
  async gatewaysWithPending(): Promise<string[]> {
    const rows: { gateway_id: string }[] = await this.db.query(`SELECT DISTINCT gateway_id FROM inbound_webhooks WHERE processed_at IS NULL AND platform_conversation_id IS NOT NULL`);
    return rows.map((row) => row.gateway_id);
  }

  /**
   * Retention: brings the received-time index up to date (pages written since its last summary are read by every
   * batch's scan otherwise; only the index's owner may, and without it the deletes still work, reading more).
   */
  summarizeReceivedIndex(): Promise<unknown> {
    return pgPool(this.db).query(`SELECT brin_summarize_new_values('inbound_webhooks_received_brin'::regclass)`);
  }

  /** Retention: one batch of deliveries processed before `before` deleted; answers how many. */
  async deleteProcessed(before: Date, limit: number): Promise<number> {
    const { rowCount } = await pgPool(this.db).query(DELETE_BATCH, [before, limit]);
    return rowCount ?? 0;
  }
}
