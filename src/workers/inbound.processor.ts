import { OnModuleInit } from '@nestjs/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { InboundJob, JOBS, QUEUES } from '../queues/queues';
import { InboundWebhooksService } from '../inbound/inbound-webhooks.service';
import { inJobContext } from './job-context';
import { logQueueErrors } from '../queues/queue-errors';

@Processor(QUEUES.inbound, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class InboundProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly inbound: InboundWebhooksService,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    super();
  }

  onModuleInit(): void {
    logQueueErrors(this.worker, this.logger);
    this.worker.concurrency = this.config.WORKER_CONCURRENCY;
  }

  process(job: Job<InboundJob>): Promise<unknown> {
    return inJobContext(job, async () => {
      if (job.name !== JOBS.inbound) throw new Error(`No handler for job '${job.name}' on ${QUEUES.inbound}`);
      // Jobs added by an earlier version name a conversation or a sweep; a pass over the gateway serves both.
      await this.inbound.process(job.data.gatewayId);
    });
  }
}
