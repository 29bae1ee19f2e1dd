import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { QUEUES } from '../queues/queues';
import { methodLabel } from './http-labels';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

// Every domain, with what its conversations have not delivered yet: the undelivered conversations are few and found
// through their partial index; a domain with none answers zeros, so its series stay and fall to 0.
const DELIVERY_BACKLOG = `
  SELECT d.name AS domain,
         coalesce(sum(c.last_seq - c.delivered_seq), 0)::int AS events,
         count(c.next_delivery_at)::int AS retrying,
         coalesce(max(extract(epoch FROM now() - e.created_at)), 0)::float8 AS oldest
    FROM domains d
    LEFT JOIN conversations c ON c.domain_id = d.id AND c.delivered_seq < c.last_seq
    LEFT JOIN events e ON e.conversation_id = c.id AND e.seq = c.delivered_seq + 1
   GROUP BY d.name`;

/**
 * Prometheus metrics: HTTP traffic, queue depth and job outcomes (read from BullMQ's own counters at scrape time),
 * callback requests, and each domain's delivery backlog (read from PostgreSQL at scrape time).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'chat_gateway_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly eventsStored = new Counter({
    name: 'chat_gateway_events_stored_total',
    help: 'Normalized events stored, by type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: 'chat_gateway_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [this.registry],
  });
  private readonly jobOutcomes = new Gauge({
    name: 'chat_gateway_job_outcomes_total',
    help: 'Jobs completed and failed per queue since the queue was created (BullMQ metrics, all workers)',
    labelNames: ['queue', 'outcome'],
    registers: [this.registry],
  });
  /** Requests to the domains' callback URLs, by outcome; a success is `delivered`. */
  readonly callbackRequests = new Counter({
    name: 'chat_gateway_callback_requests_total',
    help: "Requests to bot platforms' callback URLs by outcome: delivered (2xx), refused (another status), unreachable (no answer)",
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly callbackDuration = new Histogram({
    name: 'chat_gateway_callback_duration_seconds',
    help: "Time a bot platform's callback took to answer (or to fail)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly eventsAbandoned = new Counter({
    name: 'chat_gateway_events_abandoned_total',
    help: 'Events given up after DELIVERY_MAX_AGE_SECONDS of failed deliveries (still replayable)',
    registers: [this.registry],
  });
  readonly escalationsDeleted = new Counter({
    name: 'chat_gateway_escalations_deleted_total',
    help: 'Ended escalations deleted with their events, files and relay commands by the retention (ESCALATION_RETENTION_DAYS after they ended)',
    registers: [this.registry],
  });
  readonly conversationVacuums = new Counter({
    name: 'chat_gateway_conversation_vacuums_total',
    help: 'VACUUMs of the conversations table run by a worker (CONVERSATIONS_VACUUM_DEAD_ROWS dead row versions reached)',
    registers: [this.registry],
  });
  readonly webhooksDeleted = new Counter({
    name: 'chat_gateway_inbound_webhooks_deleted_total',
    help: 'Raw platform webhook deliveries deleted by the retention (INBOUND_WEBHOOK_RETENTION_HOURS after processing)',
    registers: [this.registry],
  });
  private readonly undeliveredEvents = this.perDomain('chat_gateway_undelivered_events', 'Events stored and not yet delivered to the bot platform, by domain');
  private readonly oldestUndelivered = this.perDomain(
    'chat_gateway_oldest_undelivered_event_age_seconds',
    "Age of the oldest event not yet delivered, by domain (0 when all are): how far behind the domain's callback is",
  );
  private readonly awaitingRetry = this.perDomain(
    'chat_gateway_conversations_awaiting_delivery_retry',
    'Conversations whose delivery failed and waits for its backoff, by domain',
  );
  private readonly queues: Queue[];

  /** Observes the request's duration when its answer is sent, under the route `routeOf` names then (a bounded set). */
  timeRequest(req: IncomingMessage, res: ServerResponse, routeOf: () => string): void {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      this.httpDuration.observe({ method: methodLabel(req.method), route: routeOf(), status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
  }

  constructor(
    @InjectQueue(QUEUES.escalationRequests) q1: Queue,
    @InjectQueue(QUEUES.escalations) q2: Queue,
    @InjectQueue(QUEUES.polls) q3: Queue,
    @InjectQueue(QUEUES.inbound) q4: Queue,
    @InjectQueue(QUEUES.deliveries) q5: Queue,
    @InjectDataSource() private readonly db: DataSource,
  ) {
    this.queues = [q1, q2, q3, q4, q5];
    collectDefaultMetrics({ register: this.registry, prefix: 'chat_gateway_' });
  }

  private perDomain(name: string, help: string): Gauge<'domain'> {
    return new Gauge({ name, help, labelNames: ['domain'], registers: [this.registry] });
  }

  /** One callback request's outcome and duration. */
  observeCallback(status: number | null, durationMs: number): void {
    this.callbackRequests.inc({ outcome: status === null ? 'unreachable' : status >= 200 && status < 300 ? 'delivered' : 'refused' });
    this.callbackDuration.observe(durationMs / 1000);
  }

  async render(): Promise<string> {
    await Promise.all([this.readDeliveryBacklog(), ...this.queues.map((queue) => this.readQueue(queue))]);
    return this.registry.metrics();
  }

  private async readQueue(queue: Queue): Promise<void> {
    try {
      const counts = await queue.getJobCounts(...JOB_STATES);
      for (const state of JOB_STATES) this.queueDepth.set({ queue: queue.name, state }, counts[state] ?? 0);
      for (const outcome of ['completed', 'failed'] as const) {
        const metrics = await queue.getMetrics(outcome, 0, 0);
        this.jobOutcomes.set({ queue: queue.name, outcome }, metrics.meta.count);
      }
    } catch {
      // Redis down: keep the last values; /health/ready reports the outage.
    }
  }

  private async readDeliveryBacklog(): Promise<void> {
    let rows: { domain: string; events: number; retrying: number; oldest: number }[];
    try {
      rows = await this.db.query(DELIVERY_BACKLOG);
    } catch {
      return; // PostgreSQL down: keep the last values; /health/ready reports the outage.
    }
    // Set afresh, so that a deleted or renamed domain's series go.
    for (const gauge of [this.undeliveredEvents, this.oldestUndelivered, this.awaitingRetry]) gauge.reset();
    for (const row of rows) {
      this.undeliveredEvents.set({ domain: row.domain }, row.events);
      this.oldestUndelivered.set({ domain: row.domain }, row.oldest);
      this.awaitingRetry.set({ domain: row.domain }, row.retrying);
    }
  }
}
