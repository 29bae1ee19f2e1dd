import { OnModuleInit } from '@nestjs/common';
import { WorkerHost } from '@nestjs/bullmq';
import { Job, UnrecoverableError } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { logQueueErrors } from '../queues/queue-errors';
import { inJobContext } from './job-context';

/** A job's handler: unpacks it and calls a service; errors propagate so that BullMQ retries. */
export type JobHandler = (job: Job) => Promise<unknown>;

/**
 * What every processor shares: its queue's errors in the structured log, its concurrency, each job run with its
 * correlation id, and one handler per job name. A job no handler takes fails without retries (another version's
 * job, say).
 */
export abstract class QueueWorker extends WorkerHost implements OnModuleInit {
  protected abstract readonly handlers: Record<string, JobHandler>;

  constructor(
    private readonly logger: AppLogger,
    private readonly concurrency: number,
  ) {
    super();
  }

  onModuleInit(): void {
    logQueueErrors(this.worker, this.logger);
    this.worker.concurrency = this.concurrency;
  }

  process(job: Job): Promise<unknown> {
    return inJobContext(job, () => {
      const handler = this.handlers[job.name];
      if (!handler) throw new UnrecoverableError(`No handler for job '${job.name}' on ${job.queueName}`);
      return handler(job);
    });
  }
}
