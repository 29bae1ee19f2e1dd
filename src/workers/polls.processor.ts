import { OnModuleInit } from '@nestjs/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { PollService } from '../inbound/poll.service';
import { JOBS, QUEUES } from '../queues/queues';
import { inJobContext } from './job-context';
import { logQueueErrors } from '../queues/queue-errors';

/** One job per shard and tick (produced by job schedulers the reconcile step upserts). */
@Processor(QUEUES.polls, { metrics: { maxDataPoints: 1440 }, lockDuration: 30_000 })
export class PollsProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly polls: PollService,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    super();
  }

  onModuleInit(): void {
    logQueueErrors(this.worker, this.logger);
    this.worker.concurrency = this.config.POLL_SHARDS;
  }

  process(job: Job<{ shard: number }>): Promise<unknown> {
    return inJobContext(job, async () => {
      if (job.name !== JOBS.pollTick) throw new Error(`No handler for job '${job.name}' on ${QUEUES.polls}`);
      return this.polls.tick(job.data.shard);
    });
  }
}
