import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QUEUES } from '../queues/queues';
import { methodLabel } from './http-labels';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/**
 * Prometheus metrics: HTTP traffic, queue depth and job outcomes (read from BullMQ's own counters at scrape time),
 * the modules' counters, and what modules read at scrape time through `onScrape` (the delivery backlog).
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
  private readonly collectors: (() => Promise<void>)[] = [];
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
  ) {
    this.queues = [q1, q2, q3, q4, q5];
    collectDefaultMetrics({ register: this.registry, prefix: 'chat_gateway_' });
  }

  /**
   * Runs `collect` at every scrape, beside the queues' reads: a module's gauges read from its own storage. A collector
   * that fails keeps its last values.
   */
  onScrape(collect: () => Promise<void>): void {
    this.collectors.push(collect);
  }

  /** One callback request's outcome and duration. */
  observeCallback(status: number | null, durationMs: number): void {
    this.callbackRequests.inc({ outcome: status === null ? 'unreachable' : status >= 200 && status < 300 ? 'delivered' : 'refused' });
    this.callbackDuration.observe(durationMs / 1000);
  }

  async render(): Promise<string> {
    await Promise.all([...this.collectors.map((collect) => collect().catch(() => undefined)), ...this.queues.map((queue) => this.readQueue(queue))]);
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
}
