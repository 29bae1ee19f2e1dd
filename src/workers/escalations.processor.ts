import { OnModuleInit } from '@nestjs/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { EscalationRunner } from '../escalations/escalation-runner.service';
import { JOBS, QUEUES, RelayJob, SessionGoneJob, StartJob, TimeoutJob } from '../queues/queues';
import { inJobContext } from './job-context';
import { logQueueErrors } from '../queues/queue-errors';

/** Start, relay, timeout and session-gone work per escalation. Thin: errors propagate so BullMQ retries. */
@Processor(QUEUES.escalations, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class EscalationsProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly runner: EscalationRunner,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    super();
  }

  onModuleInit(): void {
    logQueueErrors(this.worker, this.logger);
    this.worker.concurrency = this.config.WORKER_CONCURRENCY;
  }

  process(job: Job<StartJob | RelayJob | TimeoutJob | SessionGoneJob>): Promise<unknown> {
    return inJobContext(job, async () => {
      switch (job.name) {
        case JOBS.start:
          return this.runner.start(job.data.escalationId);
        case JOBS.relay:
          return this.runner.relay(job.data.escalationId);
        case JOBS.timeout:
          return this.runner.timeout(job.data.escalationId);
        case JOBS.sessionGone:
          return this.runner.awaitedCloseDue(job.data.escalationId);
        default:
          throw new Error(`No handler for job '${job.name}' on ${QUEUES.escalations}`);
      }
    });
  }
}
