import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/app-logger';
import { ScheduledPrune } from '../queues/scheduled-prune';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisLock } from '../queues/redis-lock';
import { EscalationsRepository } from './escalations.repository';

/** Escalations per statement: each with its events and their attempts, a few hundred rows at most per escalation. */
const BATCH = 200;

/**
 * Deletes escalations ESCALATION_RETENTION_DAYS after they ended, with what they stored. Off by default: how long
 * integrators can replay a conversation and operators read a transcript is the operator's decision; without it,
 * events, attempts and files grow for ever (at 1,000 events/s, some 86 million events and as many attempts a day).
 */
@Injectable()
export class EscalationRetention extends ScheduledPrune {
  constructor(
    private readonly escalations: EscalationsRepository,
    lock: RedisLock,
    config: AppConfig,
    private readonly metrics: MetricsService,
    logger: AppLogger,
  ) {
    super('retention:escalations', () => config.ESCALATION_RETENTION_DAYS * 86_400_000, lock, logger.child('retention'));
  }

  protected async prune(before: Date): Promise<number> {
    const deleted = await this.inBatches(BATCH, async () => {
      const deleted = await this.escalations.deleteEnded(before, BATCH);
      this.metrics.escalationsDeleted.inc(deleted);
      return deleted;
    });
    if (deleted > 0) this.log.info('ended escalations deleted', { deleted, endedBefore: before.toISOString() });
    return deleted;
  }
}
