import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ChannelSender } from '../channels/channel-sender.service';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { DeliveryService } from '../delivery/delivery.service';
import { EscalationLifecycle } from '../escalations/escalation-lifecycle.service';
import { RelayDrainer } from '../escalations/relay-drainer.service';
import { InboundPasses } from '../inbound/inbound-passes.service';
import { PollSchedulers } from '../inbound/poll-schedulers.service';
import { RedisConnection } from '../queues/redis-connection';
import { RedisLock } from '../queues/redis-lock';

/**
 * PostgreSQL is the truth; Redis only holds work derived from it. At boot and every RECONCILE_INTERVAL_SECONDS one
 * worker re-creates what open escalations and pending deliveries need: poll schedulers, start, timeout, relay,
 * session-gone, delivery, inbound and channel send jobs. Every enqueue is idempotent, so a pass over healthy state adds nothing
 * that matters.
 */
@Injectable()
export class ReconcileService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: ComponentLogger;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pollSchedulers: PollSchedulers,
    private readonly lifecycle: EscalationLifecycle,
    private readonly relay: RelayDrainer,
    private readonly delivery: DeliveryService,
    private readonly inbound: InboundPasses,
    private readonly channelSends: ChannelSender,
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
    await this.pollSchedulers.reconcile();
    const counts: Record<string, number> = { ...(await this.lifecycle.reconcile()) };
    counts.relays = await this.relay.reconcile(pass);
    // A pass per domain with events to deliver, when its first conversation is due (a retry's backoff, a dead
    // holder's claim) if that is before the next reconcile pass; a conversation due later is served by its retry job
    // or by the reconcile pass before it is due.
    counts.deliveries = await this.delivery.reconcile(pass, this.config.RECONCILE_INTERVAL_SECONDS * 1000);
    counts.inbound = await this.inbound.reconcile(pass);
    counts.channelSends = await this.channelSends.reconcile(pass);
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
