import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { pgPool } from '../database/prepared';
import { AppLogger } from '../common/app-logger';
import { ScheduledPrune } from '../queues/scheduled-prune';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisLock } from '../queues/redis-lock';

/**
 * Rows per statement: at 1,000 deliveries/s a minute brings 60,000 rows, a dozen statements; a backlog is worked
 * off at millions of rows a run.
 */
const BATCH = 5_000;

// received_at bounds the scan to the oldest pages (the BRIN index); processed_at is the rule itself, and is never
// before received_at. A delivery not processed yet is never deleted, however old.
const DELETE_BATCH = `
  DELETE FROM inbound_webhooks WHERE id IN (
    SELECT id FROM inbound_webhooks
     WHERE received_at < $1::timestamptz AND processed_at < $1::timestamptz
     LIMIT $2)`;

/**
 * Deletes platform webhook deliveries INBOUND_WEBHOOK_RETENTION_HOURS after they were processed. Once processed, a
 * raw delivery is kept only for the intake's deduplication of the platform's retries and for an operator's
 * investigation; its events are stored apart. Without this the table grew by every delivery's full body for ever.
 */
@Injectable()
export class InboundWebhookRetention extends ScheduledPrune {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    lock: RedisLock,
    config: AppConfig,
    private readonly metrics: MetricsService,
    logger: AppLogger,
  ) {
    super('retention:inbound-webhooks', () => config.INBOUND_WEBHOOK_RETENTION_HOURS * 3_600_000, lock, logger.child('retention'));
  }

  protected async prune(before: Date): Promise<number> {
    const pool = pgPool(this.db);
    // Pages written since the last summary (autovacuum's or this) are not in the index yet, and every batch's scan
    // would read them. Only the index's owner may summarize; without it the deletes still work, reading more.
    await pool.query(`SELECT brin_summarize_new_values('inbound_webhooks_received_brin'::regclass)`).catch((error: unknown) => {
      this.log.warn('retention index not summarized', { error: (error as Error).message });
    });
    const deleted = await this.inBatches(BATCH, async () => {
      const { rowCount } = await pool.query(DELETE_BATCH, [before, BATCH]);
      this.metrics.webhooksDeleted.inc(rowCount ?? 0);
      return rowCount ?? 0;
    });
    if (deleted > 0) this.log.info('processed webhook deliveries deleted', { deleted, processedBefore: before.toISOString() });
    return deleted;
  }
}
