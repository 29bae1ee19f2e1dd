import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { DeliveryService } from '../delivery/delivery.service';
import { DeliverJob, JOBS, QUEUES } from '../queues/queues';
import { QueueWorker } from './queue-worker';

/** Delivery passes over a domain's conversations. */
@Processor(QUEUES.deliveries, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class DeliveriesProcessor extends QueueWorker {
  protected readonly handlers = {
    [JOBS.deliver]: (job: Job<DeliverJob>) => this.deliveries.deliver(job.data.domainId),
  };

  constructor(
    private readonly deliveries: DeliveryService,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super(logger, config.WORKER_CONCURRENCY);
  }
}
