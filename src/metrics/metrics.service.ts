import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QUEUES } from '../queues/queues';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/** Prometheus metrics: HTTP traffic, queue depth and job outcomes (read from BullMQ's own counters at scrape time). */
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
  private readonly queues: Queue[];

  /** Observes the request's duration when its answer is sent, under the route `routeOf` names then. */
  timeRequest(req: IncomingMessage, res: ServerResponse, routeOf: () => string): void {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      this.httpDuration.observe({ method: req.method ?? '', route: routeOf(), status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
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

  async render(): Promise<string> {
    await Promise.all(
      this.queues.map(async (queue) => {
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
      }),
    );
    return this.registry.metrics();
  }
}
