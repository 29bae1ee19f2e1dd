import { Queue, Worker } from 'bullmq';
import type { AppLogger } from '../common/app-logger';

/** Errors one queue or worker logs at most per interval; the rest are counted into the next line. */
const LOG_EVERY_MS = 10_000;

/**
 * Logs a BullMQ queue's or worker's own errors (Redis unreachable, a job's keys gone after a flush) through the
 * service's structured log. Without a listener BullMQ writes each one to the console with its stack, outside the JSON
 * log operators read. A Redis outage makes each of them report the same error many times a second, so one line per
 * interval says how many came. The work itself is unaffected: PostgreSQL holds it and the reconcile pass re-creates
 * the jobs.
 */
export function logQueueErrors(target: Queue | Worker, logger: AppLogger): void {
  const log = logger.child('queues');
  const role = target instanceof Worker ? 'worker' : 'producer';
  let lastAt = 0;
  let since = 0;
  const onError = (error: Error) => {
    since += 1;
    const now = Date.now();
    if (now - lastAt < LOG_EVERY_MS) return;
    log.warn(`queue ${role} error`, { queue: target.name, error: error.message, errors: since });
    lastAt = now;
    since = 0;
  };
  if (target instanceof Worker) target.on('error', onError);
  else target.on('error', onError);
}
