import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppLogger } from '../common/app-logger';
import { ScheduledPrune } from '../queues/scheduled-prune';
import { AppConfig } from '../config/app-config';
import { prepared } from '../database/prepared';
import { MetricsService } from '../metrics/metrics.service';
import { RedisLock } from '../queues/redis-lock';

/** Escalations per statement: each with its events and their attempts, a few hundred rows at most per escalation. */
const BATCH = 200;

/**
 * One batch, in one statement: the escalations that ended before $1 and whose events are all past their
 * conversation's delivery cursor (delivered or given up), then their events (by the conversation's key; the
 * attempts follow by cascade) and the escalations themselves (transitions, files and relay commands by cascade).
 * created_at bounds the scan (escalations_created_idx): an escalation ended after it was created. Answers the
 * escalations deleted.
 */
export const ESCALATION_RETENTION_BATCH = `
  WITH due AS (
    SELECT x.id, x.conversation_id FROM escalations x JOIN conversations c ON c.id = x.conversation_id
     WHERE x.created_at < $1::timestamptz AND x.ended_at < $1::timestamptz AND x.state IN ('ended', 'failed', 'timed_out')
       AND c.delivered_seq >= (SELECT coalesce(max(e.seq), 0) FROM events e WHERE e.conversation_id = x.conversation_id AND e.escalation_id = x.id)
     ORDER BY x.created_at
     LIMIT $2
     FOR UPDATE OF x SKIP LOCKED),
  events_gone AS (
    DELETE FROM events e USING due WHERE e.conversation_id = due.conversation_id AND e.escalation_id = due.id)
  DELETE FROM escalations x USING due WHERE x.id = due.id
  RETURNING x.id`;

/**
 * Deletes escalations ESCALATION_RETENTION_DAYS after they ended, with what they stored. Off by default: how long
 * integrators can replay a conversation and operators read a transcript is the operator's decision; without it,
 * events, attempts and files grow for ever (at 1,000 events/s, some 86 million events and as many attempts a day).
 */
@Injectable()
export class EscalationRetention extends ScheduledPrune {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    lock: RedisLock,
    config: AppConfig,
    private readonly metrics: MetricsService,
    logger: AppLogger,
  ) {
    super('retention:escalations', () => config.ESCALATION_RETENTION_DAYS * 86_400_000, lock, logger.child('retention'));
  }

  protected async prune(before: Date): Promise<number> {
    const deleted = await this.inBatches(BATCH, async () => {
      const rows = await prepared<{ id: string }>(this.db, ESCALATION_RETENTION_BATCH, [before, BATCH]);
      this.metrics.escalationsDeleted.inc(rows.length);
      return rows.length;
    });
    if (deleted > 0) this.log.info('ended escalations deleted', { deleted, endedBefore: before.toISOString() });
    return deleted;
  }
}
