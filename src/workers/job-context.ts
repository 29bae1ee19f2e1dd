import { Job } from 'bullmq';
import { requestContext } from '../common/request-context';

/** Runs a job's work with its correlation id (from the request that enqueued it, else the job id) in the logs. */
export function inJobContext<T>(job: Job, fn: () => Promise<T>): Promise<T> {
  const correlationId = (job.data as { correlationId?: string })?.correlationId ?? `job-${job.queueName}-${job.id}`;
  return requestContext.run({ correlationId, actor: `worker:${job.queueName}` }, fn);
}
