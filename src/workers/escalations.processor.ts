import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { EscalationLifecycle } from '../escalations/escalation-lifecycle.service';
import { RelayDrainer } from '../escalations/relay-drainer.service';
import { CloseWait } from '../inbound/close-wait.service';
import { EscalationJob, JOBS, QUEUES } from '../queues/queues';
import { QueueWorker } from './queue-worker';

/** Start, relay, timeout and awaited-close work per escalation. */
@Processor(QUEUES.escalations, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class EscalationsProcessor extends QueueWorker {
  protected readonly handlers = {
    [JOBS.start]: (job: Job<EscalationJob>) => this.lifecycle.start(job.data.escalationId),
    [JOBS.relay]: (job: Job<EscalationJob>) => this.relay.relay(job.data.escalationId),
    [JOBS.timeout]: (job: Job<EscalationJob>) => this.lifecycle.timeout(job.data.escalationId),
    [JOBS.sessionGone]: (job: Job<EscalationJob>) => this.closeWait.due(job.data.escalationId),
  };

  constructor(
    private readonly lifecycle: EscalationLifecycle,
    private readonly relay: RelayDrainer,
    private readonly closeWait: CloseWait,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super(logger, config.WORKER_CONCURRENCY);
  }
}
