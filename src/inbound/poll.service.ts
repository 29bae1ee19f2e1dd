import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { GatewayContext, PlatformSession } from '@app/gateway-sdk';
import { Counter, Histogram } from 'prom-client';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { EscalationEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { MetricsService } from '../metrics/metrics.service';
import { RedisConnection } from '../queues/redis-connection';
import { RedisLock } from '../queues/redis-lock';
import { EscalationsRepository } from '../escalations/escalations.repository';
import { EscalationLifecycle } from '../escalations/escalation-lifecycle.service';
import { GatewayPlan, GatewayPlans } from './poll-plans';
import { PollRow, sameRow, ShardSchedule, shardRange, spreadOffset } from './poll-schedule';

/** Polls due within this many ms are started together: one timer per slice instead of one per chat. */
const SLICE_MS = 4;
/** A worker holding more than its share of shards gives one up after holding it at least this long (no flapping). */
const MIN_HOLD_MS = 30_000;
/** Polling stops this long before the lease would expire unless a tick renewed it. */
const LEASE_MARGIN_MS = 1_000;
/** Deadline of one poll (the platform call and the recording of what it found). */
const POLL_TIMEOUT_MS = 10_000;

/**
 * Batched polling of poll-based platforms (see docs/polling.md for the measurements behind it).
 *
 * Escalations are split into POLL_SHARDS id ranges. One BullMQ job per shard and tick (job schedulers upserted by the
 * reconcile step) takes or renews the shard's lease in Redis and re-reads the shard's chats from PostgreSQL; between
 * ticks this worker polls each chat when its gateway's interval has passed since its last poll, from an in-process
 * schedule, so a poll is not late by a tick. The lease (a Redis key with a TTL, renewed every tick) keeps a shard on
 * one worker at a time; the last-poll times are written to a Redis hash every tick so the next holder continues the
 * rhythm; a poll that finds nothing writes nothing to PostgreSQL.
 */
@Injectable()
export class PollService implements OnApplicationShutdown {
  private readonly log: ComponentLogger;
  private readonly lateness: Histogram;
  private readonly outcomes: Record<'events' | 'empty' | 'error', { inc(): void }>;
  private readonly token = randomUUID();
  private readonly shards = new Map<number, ShardSchedule>();
  private readonly plans: GatewayPlans;
  private readonly leaseMs: number;
  private workers = 1;
  private heartbeatAt = 0;
  private stopped = false;

  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly lifecycle: EscalationLifecycle,
    gateways: GatewaysService,
    registry: GatewayRegistry,
    contexts: GatewayContextFactory,
    private readonly redis: RedisConnection,
    private readonly lock: RedisLock,
    private readonly config: AppConfig,
    metrics: MetricsService,
    logger: AppLogger,
  ) {
    this.log = logger.child('polls');
    this.plans = new GatewayPlans(gateways, registry, contexts, POLL_TIMEOUT_MS);
    // A worker that dies stops polling its shards; another takes them over when the lease expires, well within
    // GMS's flex-disconnect timeout (45 s by default).
    this.leaseMs = Math.max(5_000, 5 * config.POLL_TICK_MS);
    this.lateness = new Histogram({
      name: 'chat_gateway_poll_lateness_seconds',
      help: 'How late a chat was polled after its polling interval had passed',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [metrics.registry],
    });
    const polls = new Counter({ name: 'chat_gateway_polls_total', help: 'Platform polls by outcome', labelNames: ['outcome'], registers: [metrics.registry] });
    this.outcomes = { events: polls.labels('events'), empty: polls.labels('empty'), error: polls.labels('error') };
  }

  /** One tick of one shard: lease, chat list, last-poll times to Redis. The polls themselves run on their own clock. */
  async tick(shard: number): Promise<{ polled: number; stored: number }> {
    if (this.stopped) return { polled: 0, stored: 0 };
    let state = this.shards.get(shard);
    const hashKey = this.redis.key('poll', String(shard));
    const started = Date.now();
    await this.heartbeat(started);
    if (state && this.overShare() && started - state.acquiredAt > MIN_HOLD_MS && state.busy.size === 0) {
      // More workers than when this one took its shards: give this one up for a worker with fewer.
      await this.release(shard, state);
      return { polled: 0, stored: 0 };
    }
    const lease = await this.lock.renewOrTake(this.leaseName(shard), this.token, this.leaseMs);
    if (lease === 'held') {
      if (state) this.drop(shard, state);
      return { polled: 0, stored: 0 };
    }
    if (lease === 'taken' || !state) {
      // Continue the rhythm of the previous holder; keep our own later times if we held the shard before (after a
      // Redis flush, or a lease that lapsed while ticks were late).
      const saved = await this.redis.client.hgetall(hashKey);
      if (!state) {
        state = new ShardSchedule();
        this.shards.set(shard, state);
      }
      state.acquiredAt = started;
      for (const [id, at] of Object.entries(saved)) {
        const known = state.lastPolled.get(id);
        if (known === undefined || known < Number(at)) state.lastPolled.set(id, Number(at));
      }
    }
    state.leaseUntil = started + this.leaseMs - LEASE_MARGIN_MS;

    const rows = await this.readShard(shard);
    await this.plans.refresh(new Set(rows.map((row) => row.gateway_id)));
    const retimed = new Set<string>();
    for (const gatewayId of new Set(rows.map((row) => row.gateway_id))) {
      const revision = this.plans.of(gatewayId)?.revision;
      if (revision !== undefined && state.planRevisions.get(gatewayId) !== revision) {
        if (state.planRevisions.has(gatewayId)) retimed.add(gatewayId);
        state.planRevisions.set(gatewayId, revision);
      }
    }
    const now = Date.now();
    const next = new Map<string, PollRow>();
    for (const row of rows) {
      const plan = this.plans.of(row.gateway_id);
      if (!plan) continue;
      const dirtySince = state.dirty.get(row.id);
      // A poll that finished after this read began may have moved the cursor: keep re-reading that row on demand.
      if (dirtySince === undefined || dirtySince < started) state.dirty.delete(row.id);
      // Keep the row object this worker already holds when nothing changed: a fresh copy every tick would outlive
      // a young-generation collection and be promoted, thousands a second.
      const held = state.rows.get(row.id);
      next.set(row.id, held && sameRow(held, row) ? held : row);
      if (state.busy.has(row.id) || (state.dueAt.has(row.id) && !retimed.has(row.gateway_id))) continue;
      // New to this worker, or its gateway's polling interval changed: (re)schedule it.
      const last = state.lastPolled.get(row.id);
      state.schedule(row.id, last !== undefined ? last + plan.intervalMs : now + spreadOffset(row.id, plan.intervalMs));
    }
    const gone = [...state.rows.keys(), ...state.lastPolled.keys()].filter((id) => !next.has(id));
    for (const id of gone) state.forget(id);
    state.rows = next;

    const pipeline = this.redis.client.pipeline();
    const unsaved = state.takeUnsaved();
    if (unsaved.length) pipeline.hset(hashKey, ...unsaved);
    if (gone.length) pipeline.hdel(hashKey, ...new Set(gone));
    pipeline.pexpire(hashKey, 3_600_000);
    await pipeline.exec();
    this.wake(shard, state);

    const result = { polled: state.polled, stored: state.stored };
    state.polled = 0;
    state.stored = 0;
    return result;
  }

  /** Counts the workers polling (each notes itself in a Redis sorted set about once a second). */
  private async heartbeat(now: number): Promise<void> {
    if (now - this.heartbeatAt < 1_000) return;
    this.heartbeatAt = now;
    const key = this.redis.key('poll-workers');
    const replies = await this.redis.client
      .pipeline()
      .zadd(key, now, this.token)
      .zremrangebyscore(key, '-inf', now - 2 * this.leaseMs)
      .zcard(key)
      .pexpire(key, 3_600_000)
      .exec();
    this.workers = Math.max(1, Number(replies?.[2]?.[1] ?? 1));
  }

  private overShare(): boolean {
    return this.shards.size > Math.ceil(this.config.POLL_SHARDS / this.workers);
  }

  onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    void this.redis.client.zrem(this.redis.key('poll-workers'), this.token).catch(() => undefined);
    const releases = [...this.shards].map(([shard, state]) => this.release(shard, state).catch(() => undefined));
    // Redis may be gone already; a lease that is not released expires by itself.
    return Promise.race([Promise.all(releases).then(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  private readShard(shard: number): Promise<PollRow[]> {
    const { from, to } = shardRange(shard, this.config.POLL_SHARDS);
    return this.escalations.pollableIn(from, to ?? null);
  }

  /** Starts every chat of the shard that is due, then sleeps until the next one is (at most one timer per shard). */
  private run(shard: number, state: ShardSchedule): void {
    state.stop();
    if (this.stopped || this.shards.get(shard) !== state) return;
    const now = Date.now();
    // Past the lease's safe end without a renewal (ticks stopped, or this process stalled): another worker may hold
    // the shard by now, so poll nothing until a tick renews the lease.
    if (now >= state.leaseUntil) return;
    // Polls started together share one deadline (one timer) and one context per gateway.
    let signal: AbortSignal | undefined;
    const bases = new Map<string, GatewayContext>();
    while (state.heap.size && state.busy.size < this.config.POLL_CONCURRENCY && state.heap.peek() <= now + SLICE_MS / 2) {
      const due = state.heap.peek();
      const id = state.heap.topId();
      state.heap.pop();
      const row = state.rows.get(id);
      const plan = row && this.plans.of(row.gateway_id);
      if (state.dueAt.get(id) !== due || !plan) continue;
      state.dueAt.delete(id);
      let base = bases.get(plan.entity.id);
      if (!base) {
        if (!signal) {
          signal = AbortSignal.timeout(POLL_TIMEOUT_MS);
          // Every poll of the slice listens to it: not a listener leak.
          setMaxListeners(0, signal);
        }
        base = { ...plan.base, signal }; // once per gateway and slice, not per poll
        bases.set(plan.entity.id, base);
      }
      this.start(shard, state, id, due, now, plan, base);
    }
    this.wake(shard, state);
  }

  private wake(shard: number, state: ShardSchedule): void {
    if (this.stopped || !state.heap.size || state.busy.size >= this.config.POLL_CONCURRENCY) return;
    const now = Date.now();
    const at = Math.max(state.heap.peek(), now + 1);
    if (state.timer && state.wakeAt <= at) return;
    state.stop();
    state.wakeAt = at;
    state.timer = setTimeout(() => this.run(shard, state), at - now);
    state.timer.unref();
  }

  private start(shard: number, state: ShardSchedule, id: string, due: number, now: number, plan: GatewayPlan, base: GatewayContext): void {
    if (state.lastPolled.has(id)) this.lateness.observe(Math.max(0, now - due) / 1000);
    state.busy.add(id);
    state.lastPolled.set(id, now);
    state.unsaved.add(id);
    state.polled++;
    void this.pollChat(state, id, plan, base).finally(() => {
      state.busy.delete(id);
      if (this.shards.get(shard) !== state || !state.rows.has(id)) return;
      if (!state.dueAt.has(id)) state.schedule(id, now + (this.plans.of(plan.entity.id) ?? plan).intervalMs);
      this.wake(shard, state);
    });
  }

  private async pollChat(state: ShardSchedule, id: string, plan: GatewayPlan, base: GatewayContext): Promise<void> {
    try {
      let row = state.rows.get(id)!;
      if (state.dirty.has(id)) {
        const fresh = await this.escalations.pollable(id);
        if (!fresh) {
          state.forget(id);
          return;
        }
        row = fresh;
        state.rows.set(id, fresh);
        state.dirty.delete(id);
      }
      const escalation = Object.assign(new EscalationEntity(), {
        id: row.id,
        gatewayId: row.gateway_id,
        conversationId: row.conversation_id,
        state: row.state,
        cursor: row.cursor,
        sessionEnc: row.session_enc,
        startAttempts: row.start_attempts,
      });
      const outcome = await this.lifecycle.pollOne(escalation, plan.gateway, plan.entity, { base, session: this.sessionOf(state, row, escalation) });
      state.stored += outcome.stored;
      if (outcome.changed) state.dirty.set(id, Date.now());
      this.outcomes[outcome.stored > 0 ? 'events' : 'empty'].inc();
    } catch (error) {
      state.dirty.set(id, Date.now());
      this.outcomes.error.inc();
      this.log.warn('poll failed', { escalationId: id, error: (error as Error).message });
    }
  }

  /** The decrypted session, decrypted again only when the stored one changed. */
  private sessionOf(state: ShardSchedule, row: PollRow, escalation: EscalationEntity): PlatformSession | null {
    const cached = state.sessions.get(row.id);
    if (cached && cached.enc === row.session_enc) return cached.session;
    const session = this.escalations.session(escalation);
    state.sessions.set(row.id, { enc: row.session_enc, session });
    return session;
  }

  /** Hands the shard back: last-poll times saved for the next holder, the lease deleted if still ours. */
  private async release(shard: number, state: ShardSchedule): Promise<void> {
    this.drop(shard, state);
    const unsaved = state.takeUnsaved();
    if (unsaved.length) await this.redis.client.hset(this.redis.key('poll', String(shard)), ...unsaved);
    await this.lock.release(this.leaseName(shard), this.token);
  }

  /** The shard's lease, named with the shard count: a change of POLL_SHARDS makes other shards. */
  private leaseName(shard: number): string {
    return `poll-shard:${this.config.POLL_SHARDS}:${shard}`;
  }

  private drop(shard: number, state: ShardSchedule): void {
    state.stop();
    state.leaseUntil = 0;
    if (this.shards.get(shard) === state) this.shards.delete(shard);
  }
}
