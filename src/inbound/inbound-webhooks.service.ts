import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ChatGateway, GatewayContext, GatewayError, InboundWebhook, PlatformSession, PlatformUpdate, toGatewayError } from '@app/gateway-sdk';
import { DataSource } from 'typeorm';
import { pgPool } from '../database/prepared';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { InProcessPasses } from '../common/in-process-passes';
import { AppConfig } from '../config/app-config';
import { TtlCache } from '../common/ttl-cache';
import { DomainError } from '../common/domain-error';
import { GatewayEntity } from '../database/entities';
import { EscalationRunner } from '../escalations/escalation-runner.service';
import { EscalationsRepository } from '../escalations/escalations.repository';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { RedisLock } from '../queues/redis-lock';
import { prepared } from '../database/prepared';
import { storableKey, unstorableConversationId } from '../common/storable-text';
import { InboundWebhookWriter } from './inbound-webhook.writer';

const ORPHAN_AFTER_MS = 10 * 60_000;
const LOCK_TTL_MS = 10_000;
// The `= ANY` names the rows to a prepared statement's generic plan, which otherwise may scan for the unnest() join.
const MARK_PROCESSED = `
  UPDATE inbound_webhooks w SET processed_at = now(), outcome = d.outcome
    FROM unnest($1::bigint[], $2::text[]) AS d(id, outcome) WHERE w.id = d.id AND w.id = ANY($1::bigint[])`;

/**
 * A gateway's pending deliveries ($1; $2 the reorder window in ms, $3 at most this many) by conversation, each with
 * its conversation's escalation (the latest; none yet is possible). A prepared statement: its generic plan must find
 * each escalation with one probe of `escalations_gateway_platform_idx` (the int tests plan it).
 */
export const PENDING_WEBHOOKS = `
  SELECT w.id, w.event_id, w.platform_conversation_id, w.headers, w.body, w.received_at,
         greatest(0, ceil(extract(epoch FROM w.received_at + ($2 || ' milliseconds')::interval - now()) * 1000))::int AS wait_ms,
         e.id AS escalation_id, e.session_enc
    FROM inbound_webhooks w
    LEFT JOIN LATERAL (
      SELECT id, session_enc FROM escalations WHERE gateway_id = $1 AND platform_conversation_id = w.platform_conversation_id ORDER BY created_at DESC LIMIT 1
    ) e ON true
   WHERE w.gateway_id = $1 AND w.processed_at IS NULL AND w.platform_conversation_id IS NOT NULL
   ORDER BY w.platform_conversation_id, coalesce(w.occurred_at, w.received_at), w.id
   LIMIT $3`;

/** Deliveries one pass reads. */
const MAX_PER_PASS = 1_000;
/** How long a gateway row (and what verifying its webhooks needs) is reused; settings changes show after this. */
const GATEWAY_CACHE_MS = 5_000;
const MAX_TRIGGERS_REMEMBERED = 10_000;
const MAX_INTAKES_REMEMBERED = 10_000;

interface Intake {
  entity: GatewayEntity;
  gateway: ChatGateway;
  context: GatewayContext;
  windowMs: number;
}

/** One conversation's share of a pass: its escalation's events and session, the deliveries they came from. */
interface ConversationWork {
  escalationId: string;
  events: PlatformUpdate['events'];
  session: PlatformSession | undefined;
  done: { id: string; outcome: string }[];
  retryable: unknown;
}

interface StoredWebhook {
  id: string;
  event_id: string;
  platform_conversation_id: string;
  headers: Record<string, string>;
  body: Buffer;
  received_at: Date;
  /** Milliseconds until the delivery's reorder window is over (0: due). */
  wait_ms: number;
  /** The conversation's escalation (the same on every row of a conversation), if there is one yet. */
  escalation_id: string | null;
  session_enc: string | null;
}

/**
 * Platform webhooks: verified, stored raw before the 2xx (a crash after the answer loses nothing), deduplicated by
 * the platform's event id, then turned into events by a job in platform-time order.
 */
@Injectable()
export class InboundWebhooksService implements BeforeApplicationShutdown {
  private readonly log: ComponentLogger;
  private readonly intakes = new TtlCache<Intake | null>(GATEWAY_CACHE_MS, MAX_INTAKES_REMEMBERED);
  /** Per gateway, the time slice whose pass this process last added. */
  private readonly triggered = new Map<string, number>();
  /** Gateways whose pass this process is about to trigger. */
  private readonly triggering = new Set<string>();
  /**
   * The gateways' passes run in this process, skipping the queue's round trips: a trigger while this process's pass
   * runs only asks it to run once more, and the pass's Redis lock keeps other processes' passes out. A pass that
   * fails is queued as a job, for BullMQ's retries.
   */
  private readonly passes = new InProcessPasses(
    (gatewayId, again) => this.process(gatewayId, again),
    (gatewayId, error) => {
      this.log.warn('inbound pass failed; queued instead', { gatewayId, error: (error as Error).message });
      return this.jobs.inboundNew(gatewayId);
    },
  );
  private readonly writer = new InboundWebhookWriter(() => pgPool(this.db));

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: GatewayRegistry,
    private readonly contexts: GatewayContextFactory,
    private readonly runner: EscalationRunner,
    private readonly repo: EscalationsRepository,
    private readonly jobs: JobDispatcher,
    private readonly lock: RedisLock,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.log = logger.child('inbound-webhooks');
  }

  /** `rawBody` as the intake route read it, already bounded to 1 MiB there. */
  async receive(gatewayId: string, headers: Record<string, string | undefined>, rawBody: Buffer): Promise<{ duplicate: boolean }> {
    const intake = await this.intake(gatewayId);
    if (!intake) throw DomainError.notFound('Webhook endpoint', gatewayId);
    if (rawBody.length === 0) throw DomainError.validation([{ field: 'body', message: 'is empty' }]);
    const request: InboundWebhook = { headers, rawBody, receivedAt: new Date() };
    let verified;
    try {
      verified = await intake.gateway.verifyWebhook!(intake.context, request);
    } catch (error) {
      const gatewayError = toGatewayError(error);
      this.log.warn('webhook refused', { gatewayId, code: gatewayError.code, error: gatewayError.message });
      if (gatewayError.code === 'auth_failed') throw new DomainError('unauthenticated', `Webhook signature refused: ${gatewayError.message}`);
      if (gatewayError.code === 'invalid_request') throw DomainError.validation([{ field: 'body', message: gatewayError.message }]);
      throw new DomainError('gateway_unavailable', `Webhook could not be verified now: ${gatewayError.message}`);
    }
    // About no conversation (an endpoint verification, which may come unsigned): nothing to process, so nothing is
    // stored, and a flood of them costs no writes.
    if (verified.platformConversationId === null) return { duplicate: false };
    // Refused at the door (a 400 the platform does not retry): stored, it would fail its statement and be retried for ever.
    const unfit = unstorableConversationId(verified.platformConversationId);
    if (unfit) throw DomainError.validation([{ field: 'body', message: unfit }]);
    // The only write before the answer (grouped with concurrent deliveries into one statement).
    const isNew = await this.writer.store({
      gatewayId,
      // Deduplicated as stored: an id over 512 characters by its digest, a NUL in it replaced (the body keeps it).
      eventId: storableKey(verified.eventId),
      platformConversationId: verified.platformConversationId,
      headers: JSON.stringify(headers),
      body: rawBody,
      occurredAt: verified.occurredAt ?? null,
    });
    if (!isNew) return { duplicate: true };
    this.trigger(gatewayId, intake.windowMs);
    return { duplicate: false };
  }

  /**
   * Makes sure the delivery is processed once its reorder window is over, without a Redis call per delivery: one
   * pass per gateway and window-long slice of time (its id names the slice), added by the slice's first delivery
   * with a delay of one window; this process skips Redis for the later ones. The pass cannot start before the slice
   * is over, so it sees every delivery stored during it; it takes what is due and gives the rest a pass at their due
   * time. Without a window the deliveries stored together trigger the gateway's pass at once: in this process when
   * it runs workers (see `passes`), otherwise as a job (coalesced: one waits, one runs).
   *
   * Not awaited: the stored row is the truth and the job only a trigger, which the reconcile pass re-creates for
   * any unprocessed row (RECONCILE_INTERVAL_SECONDS), so Redis stays out of the acknowledgement's latency.
   */
  private trigger(gatewayId: string, windowMs: number): void {
    const failed = (error: unknown) => this.log.warn('stored webhook not scheduled; the reconcile pass will pick it up', { gatewayId, error: (error as Error).message });
    if (windowMs <= 0) {
      // Deliveries stored by one statement resolve together: one trigger for all of them.
      if (this.triggering.has(gatewayId)) return;
      this.triggering.add(gatewayId);
      setImmediate(() => {
        this.triggering.delete(gatewayId);
        if (this.config.runsWorker && this.passes.open) this.passes.trigger(gatewayId);
        else this.jobs.inboundNew(gatewayId).catch(failed);
      });
      return;
    }
    const slice = Math.floor(Date.now() / windowMs);
    if (this.triggered.get(gatewayId) === slice) return;
    if (this.triggered.size >= MAX_TRIGGERS_REMEMBERED) this.triggered.clear();
    this.triggered.set(gatewayId, slice);
    this.jobs.inboundPass(gatewayId, windowMs, `s${slice}`).catch((error: unknown) => {
      if (this.triggered.get(gatewayId) === slice) this.triggered.delete(gatewayId);
      failed(error);
    });
  }

  /** Lets the passes running in this process end before the pool closes (they are bounded by their lock's TTL). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.passes.close();
  }

  /**
   * What verifying and processing a delivery need, built once per gateway and cache period instead of per delivery:
   * the gateway row, its decrypted settings and a context with its logger. Only the abort signal is per call, and made only when
   * a verification calls out (a JWK fetch), each with its own 10 s. An id with no gateway behind it is remembered
   * too, so a stream of deliveries to a wrong URL cannot cost a database read each.
   */
  private intake(gatewayId: string): Promise<Intake | null> {
    // A database error propagates (a 5xx the platform retries) and is not kept; a missing row is kept as missing.
    return this.intakes.get(gatewayId, () => this.loadIntake(gatewayId));
  }

  private async loadIntake(gatewayId: string): Promise<Intake | null> {
    const entity = await this.db.getRepository(GatewayEntity).findOneBy({ id: gatewayId });
    const registered = entity ? this.registry.find(entity.type) : undefined;
    if (!entity || !registered?.gateway.verifyWebhook) return null;
    const context: GatewayContext = Object.defineProperty({ ...this.contexts.create(entity, 10_000) }, 'signal', {
      get: () => AbortSignal.timeout(10_000),
      enumerable: true,
    });
    return { entity, gateway: registered.gateway, context, windowMs: registered.gateway.definition.inboundReorderWindowMs ?? 0 };
  }

  /**
   * Turns a gateway's stored deliveries into events: one pass serves every platform conversation with deliveries
   * due, each in platform-time order, and stores their events in one transaction, so that its cost is a few round
   * trips whatever the number of conversations. One pass runs at a time per gateway. `moreHere`: triggers in this
   * process since the pass began, served by another pass before the lock is let go.
   */
  async process(gatewayId: string, moreHere?: () => boolean): Promise<void> {
    await this.lock.coalesce(
      `inbound:${gatewayId}`,
      LOCK_TTL_MS,
      () => this.drain(gatewayId),
      (delayMs) => this.jobs.inboundPass(gatewayId, delayMs, `check-${Date.now()}`),
      moreHere,
    );
  }

  /** Processes what is pending now. */
  private async drain(gatewayId: string): Promise<void> {
    // A database error propagates: the job fails and is retried, the stored deliveries stay pending.
    const intake = await this.intake(gatewayId);
    if (!intake) return;
    const { windowMs } = intake;
    // A full pass leaves the rest to the next one, which it triggers.
    const stored = await prepared<StoredWebhook>(
      this.db,
      PENDING_WEBHOOKS,
      [gatewayId, String(windowMs), MAX_PER_PASS],
    );
    const byConversation = new Map<string, StoredWebhook[]>();
    for (const row of stored) {
      const rows = byConversation.get(row.platform_conversation_id);
      if (rows) rows.push(row);
      else byConversation.set(row.platform_conversation_id, [row]);
    }
    const work: ConversationWork[] = [];
    const done: { id: string; outcome: string }[] = [];
    let nextDue: StoredWebhook | null = null;
    let orphansWait = false;
    for (const rows of byConversation.values()) {
      // Each delivery is held for the reorder window, so that one sent before it but delivered after it can still
      // go first. Once a delivery is due, everything that sorts before it goes too, due or not: those are older in
      // platform time, and holding them longer could only put them behind it. The rest waits for a pass at its due
      // time (the wait is the database's clock, the one received_at was written with).
      const pending = rows.slice(0, rows.findLastIndex((row) => row.wait_ms === 0) + 1);
      for (const row of rows.slice(pending.length)) if (!nextDue || row.wait_ms < nextDue.wait_ms) nextDue = row;
      if (pending.length === 0) continue;
      if (!pending[0].escalation_id) {
        // The platform can announce a conversation before our start transaction committed its id: wait a little.
        if (Date.now() - pending[0].received_at.getTime() < ORPHAN_AFTER_MS) orphansWait = true;
        else done.push(...pending.map((row) => ({ id: row.id, outcome: 'no escalation' })));
        continue;
      }
      work.push(await this.handle(intake, pending));
    }
    // One job per waiting delivery however often this runs meanwhile (the id repeats), 10 ms after it is due.
    if (nextDue) await this.jobs.inboundPass(gatewayId, nextDue.wait_ms + 10, `due-${nextDue.id}`);
    if (orphansWait) await this.jobs.inboundPass(gatewayId, 1_000, `wait-${Math.floor(Date.now() / 1000)}`);

    const retryable = work.find((w) => w.retryable)?.retryable;
    const writing = work.filter((w) => w.events.length || w.session);
    for (const w of work) if (!writing.includes(w)) done.push(...w.done);
    // The deliveries are marked processed in the transaction that stores their events; when conversations had to be
    // stored one by one, after it, for those that were.
    const recorded = await this.recordAll(writing, [...done, ...writing.flatMap((w) => w.done)]);
    if (recorded !== 'all') {
      for (const w of writing) if (recorded.has(w.escalationId)) done.push(...w.done);
      if (done.length) await prepared(this.db, MARK_PROCESSED, [done.map((d) => d.id), done.map((d) => d.outcome)]);
    }
    if (stored.length === MAX_PER_PASS) await this.jobs.inboundNew(gatewayId);
    // Stored events went on; the job's retry (BullMQ backoff) takes the conversations that could not.
    if (retryable) throw retryable;
    if (recorded !== 'all' && recorded.size < writing.length) throw new Error('some conversations\' events could not be stored; the job is retried');
  }

  /** Runs one conversation's due deliveries through the gateway, the session handed from one to the next. */
  private async handle(intake: Intake, pending: StoredWebhook[]): Promise<ConversationWork> {
    const { entity, gateway, context } = intake;
    const escalation = { id: pending[0].escalation_id!, sessionEnc: pending[0].session_enc };
    let session = this.repo.session(escalation);
    const work: ConversationWork = { escalationId: escalation.id, events: [], session: undefined, done: [], retryable: null };
    for (const row of pending) {
      let outcome = 'ok';
      try {
        // On the intake's context: the gateway's settings as verification saw them, not decrypted again per
        // delivery; 30 s for what handling fetches (an agent's file), as for the escalation's other platform calls.
        // The signal is made only if handling reads it: made for every delivery, each one's timer stayed armed for
        // the whole 30 s and was promoted to the old generation (at 1,000 deliveries/s it grew 5.7-6.3 MB/s with
        // them, 3.9-4.8 MB/s without: fewer full collections).
        const update = await gateway.handleWebhook!(this.runner.contextFrom(context, escalation, session, () => AbortSignal.timeout(30_000)), {
          headers: row.headers,
          rawBody: row.body,
          receivedAt: row.received_at,
        });
        work.events.push(...update.events);
        if (update.session) {
          session = { ...(session ?? {}), ...update.session };
          work.session = session;
        }
      } catch (error) {
        if (error instanceof GatewayError && error.retryable) {
          // This conversation stops here, in order; what came before it is stored.
          work.retryable = error;
          break;
        }
        outcome = `skipped: ${(error as Error).message}`.slice(0, 300);
        this.log.warn('webhook skipped', { gatewayId: entity.id, eventId: row.event_id, error: (error as Error).message });
      }
      work.done.push({ id: row.id, outcome });
    }
    return work;
  }

  /**
   * Stores the pass's events, all conversations in one transaction that also marks `done` processed ('all'); if that
   * fails, each conversation in its own, so that one the database refuses does not hold the others, and answers the
   * escalations whose events were stored (the caller marks their deliveries).
   */
  private async recordAll(work: ConversationWork[], done: { id: string; outcome: string }[]): Promise<'all' | Set<string>> {
    const items = work.map((w) => ({ escalationId: w.escalationId, input: { events: w.events, session: w.session ?? undefined } }));
    if (items.length === 0) return new Set();
    try {
      await this.runner.recordMany(items, [{ sql: MARK_PROCESSED, values: [done.map((d) => d.id), done.map((d) => d.outcome)] }]);
      return 'all';
    } catch (error) {
      if (items.length === 1) {
        this.log.warn('webhook events not stored; retried', { escalationId: items[0].escalationId, error: (error as Error).message });
        return new Set();
      }
    }
    const recorded = new Set<string>();
    for (const item of items) {
      try {
        await this.runner.recordMany([item]);
        recorded.add(item.escalationId);
      } catch (error) {
        this.log.warn('webhook events not stored; retried', { escalationId: item.escalationId, error: (error as Error).message });
      }
    }
    return recorded;
  }
}
