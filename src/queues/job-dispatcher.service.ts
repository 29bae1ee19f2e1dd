import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { JobsOptions, Queue } from 'bullmq';
import { requestContext } from '../common/request-context';
import { JOBS, QUEUES } from './queues';

// BullMQ refuses ':' in custom ids; '.' separates the parts of ours.
const jobId = (...parts: (string | number)[]) => parts.join('.');

const DEFAULTS: JobsOptions = {
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  // Unexpected errors (a database hiccup) are retried by BullMQ; platform failures are scheduled by the engine.
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
};

/** Options of a job that is needed once for whatever happened meanwhile: at most one waits and one runs per `key`. */
const coalesced = (key: string): JobsOptions => ({ ...DEFAULTS, deduplication: { id: key, keepLastIfActive: true } });

/** Every enqueue of the engine, with deterministic job ids so a repeated enqueue is a no-op while the job exists. */
@Injectable()
export class JobDispatcher {
  constructor(
    @InjectQueue(QUEUES.escalations) private readonly escalations: Queue,
    @InjectQueue(QUEUES.deliveries) private readonly deliveries: Queue,
    @InjectQueue(QUEUES.inbound) private readonly inbound: Queue,
    @InjectQueue(QUEUES.channelSends) private readonly channelSends: Queue,
  ) {}

  private meta() {
    return { correlationId: requestContext.correlationId() };
  }

  start(escalationId: string, attempt: number, delayMs = 0): Promise<unknown> {
    return this.escalations.add(JOBS.start, { escalationId, ...this.meta() }, { ...DEFAULTS, jobId: jobId('start', escalationId, attempt), delay: delayMs });
  }

  /** `token` distinguishes triggers (a command seq, a retry attempt, a reconcile pass). */
  relay(escalationId: string, token: string | number, delayMs = 0): Promise<unknown> {
    return this.escalations.add(JOBS.relay, { escalationId, ...this.meta() }, { ...DEFAULTS, jobId: jobId('relay', escalationId, token), delay: delayMs });
  }

  timeout(escalationId: string, at: Date): Promise<unknown> {
    const delay = Math.max(0, at.getTime() - Date.now());
    return this.escalations.add(JOBS.timeout, { escalationId, ...this.meta() }, { ...DEFAULTS, jobId: jobId('timeout', escalationId, at.getTime()), delay });
  }

  /** Whether the platform's close of an escalation whose session a relay found over has come (once `at` is reached). */
  sessionGone(escalationId: string, at: Date): Promise<unknown> {
    const delay = Math.max(0, at.getTime() - Date.now());
    return this.escalations.add(JOBS.sessionGone, { escalationId, ...this.meta() }, { ...DEFAULTS, jobId: jobId('session-gone', escalationId, at.getTime()), delay });
  }

  /** A delivery pass over a domain's conversations for one trigger (a retry, a reconcile pass), possibly delayed. */
  deliver(domainId: string, token: string | number, delayMs = 0): Promise<unknown> {
    return this.deliveries.add(JOBS.deliver, { domainId, ...this.meta() }, { ...DEFAULTS, jobId: jobId('deliver', domainId, token), delay: delayMs });
  }

  /**
   * A delivery pass for a domain's newly stored events. However many arrive, at most one such job waits and one runs
   * per domain: BullMQ's deduplication ignores an add while one waits, and an add while one runs leaves a single
   * follow-up job for when it ends, so nothing stored during a run is left waiting for the reconcile pass.
   */
  deliverNew(domainId: string): Promise<unknown> {
    return this.deliveries.add(JOBS.deliver, { domainId, ...this.meta() }, coalesced(jobId('deliver', domainId)));
  }

  /**
   * A pass over a gateway's stored deliveries for newly stored ones, coalesced per gateway like `deliverNew`: however
   * many arrive, at most one such job waits and one runs.
   */
  inboundNew(gatewayId: string): Promise<unknown> {
    return this.inbound.add(JOBS.inbound, { gatewayId, ...this.meta() }, coalesced(jobId('inbound', gatewayId)));
  }

  /** A pass over a gateway's stored deliveries for one trigger (a reorder window, a wait, a reconcile pass), possibly delayed. */
  inboundPass(gatewayId: string, delayMs: number, token: string): Promise<unknown> {
    return this.inbound.add(JOBS.inbound, { gatewayId, ...this.meta() }, { ...DEFAULTS, jobId: jobId('inbound', gatewayId, token), delay: delayMs });
  }

  /**
   * Drains a channel conversation's outbound messages. Without a delay it is coalesced per conversation (one waits,
   * one runs); a delayed one (a retry, a held lease) has its own `token`.
   */
  channelSend(conversationId: string, token?: string, delayMs = 0): Promise<unknown> {
    const options = token === undefined ? coalesced(jobId('send', conversationId)) : { ...DEFAULTS, jobId: jobId('send', conversationId, token), delay: delayMs };
    return this.channelSends.add(JOBS.send, { conversationId, ...this.meta() }, options);
  }
}
