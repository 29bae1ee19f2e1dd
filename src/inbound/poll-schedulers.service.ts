import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { JOBS, QUEUES } from '../queues/queues';

/**
 * The poll ticks' job schedulers, one per shard, upserted from one place (the reconcile pass, never every replica
 * at boot): a tick every POLL_TICK_MS, and the shards beyond POLL_SHARDS removed when it shrinks.
 */
@Injectable()
export class PollSchedulers {
  constructor(
    @InjectQueue(QUEUES.polls) private readonly polls: Queue,
    private readonly config: AppConfig,
  ) {}

  async reconcile(): Promise<void> {
    for (let shard = 0; shard < this.config.POLL_SHARDS; shard++) {
      await this.polls.upsertJobScheduler(
        `poll-shard-${shard}`,
        { every: this.config.POLL_TICK_MS },
        { name: JOBS.pollTick, data: { shard }, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
      );
    }
    for (const scheduler of await this.polls.getJobSchedulers()) {
      const shard = Number(/^poll-shard-(\d+)$/.exec(scheduler.key)?.[1] ?? NaN);
      if (Number.isFinite(shard) && shard >= this.config.POLL_SHARDS) await this.polls.removeJobScheduler(scheduler.key);
    }
  }
}
