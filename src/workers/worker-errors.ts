import type { Worker } from 'bullmq';
import type { AppLogger } from '../common/app-logger';

/** Errors one worker logs at most per interval; the rest are counted into the next line. */
const LOG_EVERY_MS = 10_000;

/**
 * Logs a queue worker's own errors (Redis unreachable, a job's keys gone after a flush) through the service's
 * structured log. Without a listener BullMQ writes each one to the console with its stack, outside the JSON log
 * operators read. A Redis outage makes a worker report the same error many times a second, so one line per
 * interval says how many came. The work itself is unaffected: PostgreSQL holds it and the reconcile pass re-creates
 * the jobs.
 */
export function logWorkerErrors(worker: Worker, logger: AppLogger): void {
  const log = logger.child('queue-worker');
  let lastAt = 0;
  let since = 0;
  worker.on('error', (error: Error) => {
    since += 1;
    const now = Date.now();
    if (now - lastAt < LOG_EVERY_MS) return;
    log.warn('queue worker error', { queue: worker.name, error: error.message, errors: since });
    lastAt = now;
    since = 0;
  });
}
