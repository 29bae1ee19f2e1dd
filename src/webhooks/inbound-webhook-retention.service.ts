import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisLock } from '../queues/redis-lock';

/** How often the retention runs (the first time one interval after a worker starts). */
const EVERY_MS = 60_000;
/**
 * Rows per statement (each its own short transaction), and how long one run goes on while statements come back
 * full: at 1,000 deliveries/s a minute brings 60,000 rows, a dozen statements; a backlog (a retention just
 * shortened, a worker down for days) is worked off at millions of rows a run.
 */
const BATCH = 5_000;
const RUN_BUDGET_MS = 50_000;
const LOCK_TTL_MS = 2 * 60_000;

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
 * One worker at a time runs it (a Redis lock), every minute, for at most RUN_BUDGET_MS.
 */
@Injectable()
export class InboundWebhookRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: ComponentLogger;
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly lock: RedisLock,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    logger: AppLogger,
  ) {
    this.log = logger.child('retention');
  }

  onApplicationBootstrap(): void {
    if (this.config.INBOUND_WEBHOOK_RETENTION_HOURS === 0) return;
    const run = () => void this.runOnce().catch((error) => this.log.error('retention failed', { error: (error as Error).message }));
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes what is due now; answers the rows deleted, or null when another worker was running it. */
  async runOnce(): Promise<number | null> {
    const hours = this.config.INBOUND_WEBHOOK_RETENTION_HOURS;
    if (hours === 0) return 0;
    const outcome = await this.lock.withLock('retention:inbound-webhooks', LOCK_TTL_MS, () => this.prune(new Date(Date.now() - hours * 3_600_000)));
    return outcome.ran ? outcome.value : null;
  }

  private async prune(before: Date): Promise<number> {
    const pool = (this.db.driver as PostgresDriver).master as Pool;
    // Pages written since the last summary (autovacuum's or this) are not in the index yet, and every batch's scan
    // would read them. Only the index's owner may summarize; without it the deletes still work, reading more.
    await pool.query(`SELECT brin_summarize_new_values('inbound_webhooks_received_brin'::regclass)`).catch((error: unknown) => {
      this.log.warn('retention index not summarized', { error: (error as Error).message });
    });
    let deleted = 0;
    const until = Date.now() + RUN_BUDGET_MS;
    for (;;) {
      const { rowCount } = await pool.query(DELETE_BATCH, [before, BATCH]);
      deleted += rowCount ?? 0;
      this.metrics.webhooksDeleted.inc(rowCount ?? 0);
      if ((rowCount ?? 0) < BATCH || Date.now() >= until) break;
    }
    if (deleted > 0) this.log.info('processed webhook deliveries deleted', { deleted, processedBefore: before.toISOString() });
    return deleted;
  }
}
