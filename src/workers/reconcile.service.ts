import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { JOBS, QUEUES } from '../queues/queues';
import { RedisConnection } from '../queues/redis-connection';
import { RedisLock } from '../queues/redis-lock';
import { JobDispatcher } from '../queues/job-dispatcher.service';

/**
 * PostgreSQL is the truth; Redis only holds work derived from it. At boot and every RECONCILE_INTERVAL_SECONDS one
 * worker re-creates what open escalations and pending deliveries need: poll schedulers, start, timeout, relay,
 * session-gone, delivery and inbound jobs. Every enqueue is idempotent, so a pass over healthy state adds nothing
 * that matters.
 */
@Injectable()
export class ReconcileService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: ComponentLogger;
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QUEUES.polls) private readonly polls: Queue,
    private readonly jobs: JobDispatcher,
    private readonly lock: RedisLock,
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.log = logger.child('reconcile');
  }

  onApplicationBootstrap(): void {
    // Not awaited: a worker must finish booting (and report through /health) even while Redis is unreachable.
    void this.warnAboutRedisPersistence();
    void this.runOnce().catch((error) => this.log.error('reconcile failed', { error: (error as Error).message }));
    this.timer = setInterval(() => {
      void this.runOnce().catch((error) => this.log.error('reconcile failed', { error: (error as Error).message }));
    }, this.config.RECONCILE_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async runOnce(): Promise<Record<string, number> | null> {
    const outcome = await this.lock.withLock('reconcile', 60_000, () => this.reconcile());
    return outcome.ran ? outcome.value : null;
  }

  private async reconcile(): Promise<Record<string, number>> {
    const pass = `r${Math.floor(Date.now() / (this.config.RECONCILE_INTERVAL_SECONDS * 1000))}`;
    const counts: Record<string, number> = {};

    // Poll schedulers: one per shard, upserted from this one place (never from every replica at boot).
    for (let shard = 0; shard < this.config.POLL_SHARDS; shard++) {
      await this.polls.upsertJobScheduler(
        `poll-shard-${shard}`,
        { every: this.config.POLL_TICK_MS },
        { name: JOBS.pollTick, data: { shard }, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
      );
    }
    for (const scheduler of await this.polls.getJobSchedulers()) {
      const shard = Number(/^poll-shard-(\d+)$/.exec(scheduler.key)?.[1] ?? NaN);
      if (Number.isFinite(shard) && shard >= this.config.POLL_SHARDS) await this.polls.removeJobScheduler(scheduler.key);
    }

    const starts: { id: string; start_attempts: number; next_start_at: Date | null }[] = await this.db.query(
      `SELECT id, start_attempts, next_start_at FROM escalations
        WHERE (state = 'requested') OR (state = 'starting' AND updated_at < now() - interval '2 minutes')`,
    );
    for (const row of starts) {
      const delay = row.next_start_at ? Math.max(0, row.next_start_at.getTime() - Date.now()) : 0;
      await this.jobs.start(row.id, row.start_attempts + 1, delay);
    }
    counts.starts = starts.length;

    const waiting: { id: string; timeout_at: Date }[] = await this.db.query(
      `SELECT id, timeout_at FROM escalations WHERE state IN ('requested', 'starting', 'queued')`,
    );
    for (const row of waiting) await this.jobs.timeout(row.id, row.timeout_at);
    counts.timeouts = waiting.length;

    const awaitingClose: { id: string; session_gone_at: Date }[] = await this.db.query(
      `SELECT id, session_gone_at FROM escalations WHERE state = 'active' AND session_gone_at IS NOT NULL`,
    );
    for (const row of awaitingClose) await this.jobs.sessionGone(row.id, row.session_gone_at);
    counts.awaitingClose = awaitingClose.length;

    const relays: { escalation_id: string }[] = await this.db.query(
      `SELECT DISTINCT r.escalation_id FROM relay_commands r JOIN escalations e ON e.id = r.escalation_id
        WHERE r.status = 'pending' AND e.state IN ('queued', 'active')`,
    );
    for (const row of relays) await this.jobs.relay(row.escalation_id, pass);
    counts.relays = relays.length;

    // A pass per domain with events to deliver, when its first conversation is due (a retry's backoff, a dead
    // holder's claim) if that is before the next reconcile pass; a conversation due later is served by its retry job
    // or by the reconcile pass before it is due.
    const intervalMs = this.config.RECONCILE_INTERVAL_SECONDS * 1000;
    const deliveries: { domain_id: string; wait_ms: number }[] = await this.db.query(
      `SELECT domain_id, greatest(0, ceil(extract(epoch FROM min(greatest(coalesce(next_delivery_at, now()), coalesce(delivery_claimed_until, now()))) - now()) * 1000))::int AS wait_ms
         FROM conversations WHERE delivered_seq < last_seq GROUP BY domain_id`,
    );
    const due = deliveries.filter((row) => row.wait_ms <= intervalMs);
    for (const row of due) await this.jobs.deliver(row.domain_id, pass, row.wait_ms);
    counts.deliveries = due.length;

    const inbound: { gateway_id: string }[] = await this.db.query(
      `SELECT DISTINCT gateway_id FROM inbound_webhooks WHERE processed_at IS NULL AND platform_conversation_id IS NOT NULL`,
    );
    for (const row of inbound) await this.jobs.inboundPass(row.gateway_id, 0, pass);
    counts.inbound = inbound.length;

    if (Object.values(counts).some((n) => n > 0)) this.log.info('reconciled', counts);
    return counts;
  }

  /** Without persistence and noeviction, a Redis restart or eviction silently drops jobs (reconcile repairs it, late). */
  private async warnAboutRedisPersistence(): Promise<void> {
    try {
      const [, policy] = (await this.redis.client.config('GET', 'maxmemory-policy')) as string[];
      const [, aof] = (await this.redis.client.config('GET', 'appendonly')) as string[];
      if (policy !== 'noeviction') this.log.warn('Redis maxmemory-policy is not noeviction: queued jobs may be evicted', { policy });
      if (aof !== 'yes') this.log.warn('Redis runs without AOF persistence: a restart loses queued jobs until the next reconcile pass');
    } catch {
      // CONFIG may be disabled on managed Redis.
    }
  }
}
