import { createHash } from 'node:crypto';
import { ConnectionOptions, Queue } from 'bullmq';

/** Name of the intake queue internal services enqueue escalations on. */
export const ESCALATION_REQUESTS_QUEUE = 'escalation-requests';
export const ESCALATION_REQUEST_JOB = 'intake';

/** The escalation request, the same shape as the body of `POST /v1/escalations`. */
export interface EscalationRequestPayload {
  domain: string;
  gatewayId: string;
  conversation: { externalId: string; channel: string };
  user: { firstName?: string; lastName?: string; name?: string; email?: string; phone?: string; language?: string };
  attributes?: Record<string, string>;
  history?: {
    author: 'user' | 'bot' | 'agent' | 'system';
    text?: string;
    attachments?: { name: string; mimeType: string; url?: string; contentBase64?: string }[];
    cards?: { contentType: string; content: Record<string, unknown> }[];
    time: string;
  }[];
  queue?: string;
}

/** One job on the intake queue. */
export interface EscalationRequestJob {
  /** Same role as the HTTP Idempotency-Key header: the same key and body create one escalation. */
  idempotencyKey: string;
  /** Name of the enqueuing service, recorded as the requester (keys are scoped by it). */
  requestedBy: string;
  request: EscalationRequestPayload;
}

export interface EscalationProducerOptions {
  connection: ConnectionOptions;
  /** The service's REDIS_PREFIX (default `{cg}`). */
  prefix?: string;
}

/**
 * Typed producer for internal services: enqueues an escalation without an HTTP hop. Invalid requests fail in the
 * queue without retry and their validation errors are kept as the job's failure reason.
 */
export class EscalationProducer {
  private readonly queue: Queue;

  constructor(options: EscalationProducerOptions) {
    this.queue = new Queue(ESCALATION_REQUESTS_QUEUE, { connection: options.connection, prefix: options.prefix ?? '{cg}' });
  }

  /** Returns the job id (deterministic per requester and key, so a retried enqueue adds nothing). */
  async enqueue(job: EscalationRequestJob): Promise<string> {
    const jobId = `intake.${createHash('sha256').update(`${job.requestedBy}\n${job.idempotencyKey}`).digest('hex').slice(0, 32)}`;
    await this.queue.add(ESCALATION_REQUEST_JOB, job, {
      jobId,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    return jobId;
  }

  /** The outcome of an enqueued request: the escalation id, or the recorded validation errors. */
  async outcome(jobId: string): Promise<{ state: string; escalationId?: string; errors?: unknown }> {
    const state = await this.queue.getJobState(jobId);
    // Read the job after its state, so a job that just finished carries its result or failure reason.
    const job = await this.queue.getJob(jobId);
    if (!job) return { state: 'unknown' };
    if (state === 'failed') {
      let errors: unknown = job.failedReason;
      try {
        errors = JSON.parse(job.failedReason);
      } catch {
        // a plain message
      }
      return { state, errors };
    }
    return { state, escalationId: (job.returnvalue as { escalationId?: string } | null)?.escalationId };
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
