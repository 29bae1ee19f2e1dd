import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { InboundPasses } from '../inbound/inbound-passes.service';
import { InboundJob, JOBS, QUEUES } from '../queues/queues';
import { QueueWorker } from './queue-worker';

/** Passes over a gateway's stored webhook deliveries. */
@Processor(QUEUES.inbound, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class InboundProcessor extends QueueWorker {
  protected readonly handlers = {
    [JOBS.inbound]: (job: Job<InboundJob>) => this.passes.process(job.data.gatewayId),
  };

  constructor(
    private readonly passes: InboundPasses,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super(logger, config.WORKER_CONCURRENCY);
  }
}
