import { OnModuleInit } from '@nestjs/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { DeliveryService } from '../delivery/delivery.service';
import { DeliverJob, JOBS, QUEUES } from '../queues/queues';
import { inJobContext } from './job-context';
import { logQueueErrors } from '../queues/queue-errors';

@Processor(QUEUES.deliveries, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class DeliveriesProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly deliveries: DeliveryService,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    super();
  }

  onModuleInit(): void {
    logQueueErrors(this.worker, this.logger);
    this.worker.concurrency = this.config.WORKER_CONCURRENCY;
  }

  process(job: Job<DeliverJob>): Promise<unknown> {
    return inJobContext(job, async () => {
      if (job.name !== JOBS.deliver) throw new Error(`No handler for job '${job.name}' on ${QUEUES.deliveries}`);
      const domainId = job.data.domainId ?? (job.data.conversationId ? await this.deliveries.domainOf(job.data.conversationId) : null);
      if (domainId) await this.deliveries.deliver(domainId);
    });
  }
}
