import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/app-logger';
import { ScheduledPrune } from '../queues/scheduled-prune';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisLock } from '../queues/redis-lock';
import { InboundWebhooksRepository } from './inbound-webhooks.repository';

/**
 * Rows per statement: at 1,000 deliveries/s a minute brings 60,000 rows, a dozen statements; a backlog is worked
 * off at millions of rows a run.
 */
const BATCH = 5_000;

/**
 * Deletes platform webhook deliveries INBOUND_WEBHOOK_RETENTION_HOURS after they were processed. Once processed, a
 * raw delivery is kept only for the intake's deduplication of the platform's retries and for an operator's
 * investigation; its events are stored apart. Without this the table grows by every delivery's full body for ever.
 */
@Injectable()
export class InboundWebhookRetention extends ScheduledPrune {
  constructor(
    private readonly webhooks: InboundWebhooksRepository,
    lock: RedisLock,
    config: AppConfig,
    private readonly metrics: MetricsService,
    logger: AppLogger,
  ) {
    super('retention:inbound-webhooks', () => config.INBOUND_WEBHOOK_RETENTION_HOURS * 3_600_000, lock, logger.child('retention'));
  }

  protected async prune(before: Date): Promise<number> {
    await this.webhooks.summarizeReceivedIndex().catch((error: unknown) => {
      this.log.warn('retention index not summarized', { error: (error as Error).message });
    });
    const deleted = await this.inBatches(BATCH, async () => {
      const deleted = await this.webhooks.deleteProcessed(before, BATCH);
      this.metrics.webhooksDeleted.inc(deleted);
      return deleted;
    });
    if (deleted > 0) this.log.info('processed webhook deliveries deleted', { deleted, processedBefore: before.toISOString() });
    return deleted;
  }
}
