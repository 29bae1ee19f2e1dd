import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { PollService } from '../inbound/poll.service';
import { JOBS, PollTickJob, QUEUES } from '../queues/queues';
import { QueueWorker } from './queue-worker';

/** One job per shard and tick (produced by the job schedulers of `PollSchedulers`). */
@Processor(QUEUES.polls, { metrics: { maxDataPoints: 1440 }, lockDuration: 30_000 })
export class PollsProcessor extends QueueWorker {
  protected readonly handlers = {
    [JOBS.pollTick]: (job: Job<PollTickJob>) => this.polls.tick(job.data.shard),
  };

  constructor(
    private readonly polls: PollService,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super(logger, config.POLL_SHARDS);
  }
}
