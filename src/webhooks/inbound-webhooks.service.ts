import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ChatGateway, GatewayContext, GatewayError, InboundWebhook, PlatformUpdate, toGatewayError } from '@app/gateway-sdk';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { TtlCache } from '../common/ttl-cache';
import { DomainError } from '../common/domain-error';
import { GatewayEntity } from '../database/entities';
import { EscalationRunner } from '../escalations/escalation-runner.service';
import { EscalationsRepository } from '../escalations/escalations.repository';
import { JobDispatcher } from '../escalations/job-dispatcher.service';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { RedisLock } from '../queues/redis-lock';
import { prepared } from '../database/prepared';
import { InboundWebhookWriter } from './inbound-webhook.writer';

const ORPHAN_AFTER_MS = 10 * 60_000;
const LOCK_TTL_MS = 10_000;
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

interface StoredWebhook {
  id: string;
  event_id: string;
  headers: Record<string, string>;
  body: Buffer;
  received_at: Date;
  /** Milliseconds until the delivery's reorder window is over (0: due). */
  wait_ms: number;
  /** The conversation's escalation (the same on every row), if there is one yet. */
  escalation_id: string | null;
  session_enc: string | null;
}

/**
 * Platform webhooks: verified, stored raw before the 2xx (a crash after the answer loses nothing), deduplicated by
 * the platform's event id, then turned into events by a job in platform-time order.
 */
@Injectable()
export class InboundWebhooksService {
  private readonly log: ComponentLogger;
  private readonly intakes = new TtlCache<Intake | null>(GATEWAY_CACHE_MS, MAX_INTAKES_REMEMBERED);
  /** Per gateway, the time slice whose sweep job this process last added. */
  private readonly triggered = new Map<string, number>();
  private readonly writer = new InboundWebhookWriter(() => (this.db.driver as PostgresDriver).master as Pool);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: GatewayRegistry,
    private readonly contexts: GatewayContextFactory,
    private readonly runner: EscalationRunner,
    private readonly repo: EscalationsRepository,
    private readonly jobs: JobDispatcher,
    private readonly lock: RedisLock,
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
    // The only write before the answer (grouped with concurrent deliveries into one statement).
    const isNew = await this.writer.store({
      gatewayId,
      eventId: verified.eventId,
      platformConversationId: verified.platformConversationId,
      headers: JSON.stringify(headers),
      body: rawBody,
      occurredAt: verified.occurredAt ?? null,
    });
    if (!isNew) return { duplicate: true };
    if (verified.platformConversationId) this.trigger(gatewayId, verified.platformConversationId, intake.windowMs);
    return { duplicate: false };
  }

  /**
   * Makes sure the delivery is drained once its reorder window is over, without a Redis call per delivery: one
   * sweep job per gateway and window-long slice of time (its id names the slice), added by the slice's first
   * delivery with a delay of one window; this process skips Redis for the later ones. The sweep cannot start before
   * the slice is over, so it sees every delivery stored during it and adds a drain job for each conversation with
   * stored deliveries; the drain takes what is due and gives the rest a job at their due time. Without a window each
   * delivery gets its conversation's drain job at once.
   *
   * Not awaited: the stored row is the truth and the job only a trigger, which the reconcile pass re-creates for
   * any unprocessed row (RECONCILE_INTERVAL_SECONDS), so Redis stays out of the acknowledgement's latency.
   */
  private trigger(gatewayId: string, platformConversationId: string, windowMs: number): void {
    const failed = (error: unknown) => this.log.warn('stored webhook not scheduled; the reconcile pass will pick it up', { gatewayId, error: (error as Error).message });
    if (windowMs <= 0) {
      this.jobs.inboundNew(gatewayId, platformConversationId).catch(failed);
      return;
    }
    const slice = Math.floor(Date.now() / windowMs);
    if (this.triggered.get(gatewayId) === slice) return;
    if (this.triggered.size >= MAX_TRIGGERS_REMEMBERED) this.triggered.clear();
    this.triggered.set(gatewayId, slice);
    this.jobs.inboundSweep(gatewayId, windowMs, `s${slice}`).catch((error: unknown) => {
      if (this.triggered.get(gatewayId) === slice) this.triggered.delete(gatewayId);
      failed(error);
    });
  }

  /** Adds, at once, a drain job for each conversation of the gateway with stored deliveries (see `trigger`). */
  async sweep(gatewayId: string): Promise<void> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT DISTINCT platform_conversation_id AS id FROM inbound_webhooks
        WHERE gateway_id = $1 AND processed_at IS NULL AND platform_conversation_id IS NOT NULL`,
      [gatewayId],
    );
    await this.jobs.inboundNewMany(gatewayId, rows.map((row) => row.id));
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

  /** Turns the stored deliveries of one platform conversation into events, oldest platform time first. */
  async process(gatewayId: string, platformConversationId: string): Promise<void> {
    await this.lock.coalesce(
      `inbound:${gatewayId}:${platformConversationId}`,
      LOCK_TTL_MS,
      () => this.drain(gatewayId, platformConversationId),
      (delayMs) => this.jobs.inboundWebhook(gatewayId, platformConversationId, delayMs, `check-${Date.now()}`),
    );
  }

  /** Processes what is pending now. */
  private async drain(gatewayId: string, platformConversationId: string): Promise<void> {
    // A database error propagates: the job fails and is retried, the stored deliveries stay pending.
    const intake = await this.intake(gatewayId);
    if (!intake) return;
    const { entity, gateway, windowMs } = intake;
    // The pending deliveries, each with the conversation's escalation (the latest; none yet is possible).
    const stored = await prepared<StoredWebhook>(
      this.db,
      `SELECT w.id, w.event_id, w.headers, w.body, w.received_at,
              greatest(0, ceil(extract(epoch FROM w.received_at + ($3 || ' milliseconds')::interval - now()) * 1000))::int AS wait_ms,
              e.id AS escalation_id, e.session_enc
         FROM inbound_webhooks w
         LEFT JOIN LATERAL (
           SELECT id, session_enc FROM escalations WHERE gateway_id = $1 AND platform_conversation_id = $2 ORDER BY created_at DESC LIMIT 1
         ) e ON true
        WHERE w.gateway_id = $1 AND w.platform_conversation_id = $2 AND w.processed_at IS NULL
        ORDER BY coalesce(w.occurred_at, w.received_at), w.id`,
      [gatewayId, platformConversationId, String(windowMs)],
    );
    // Each delivery is held for the reorder window, so that one sent before it but delivered after it can still go
    // first. Once a delivery is due, everything that sorts before it goes too, due or not: those are older in
    // platform time, and holding them longer could only put them behind it. The rest waits for a job of its own
    // (the wait is the database's clock, the one received_at was written with).
    const pending = stored.slice(0, stored.findLastIndex((row) => row.wait_ms === 0) + 1);
    const waiting = stored.slice(pending.length);
    if (waiting.length > 0) {
      // One job per waiting delivery however often this runs meanwhile (the id repeats), 10 ms after it is due.
      const next = waiting.reduce((soonest, row) => (row.wait_ms < soonest.wait_ms ? row : soonest));
      await this.jobs.inboundWebhook(gatewayId, platformConversationId, next.wait_ms + 10, `due-${next.id}`);
    }
    if (pending.length === 0) return;
    const escalation = pending[0].escalation_id ? { id: pending[0].escalation_id, sessionEnc: pending[0].session_enc } : null;
    if (!escalation) {
      // The platform can announce a conversation before our start transaction committed its id: wait a little.
      const oldest = pending[0].received_at.getTime();
      if (Date.now() - oldest < ORPHAN_AFTER_MS) {
        await this.jobs.inboundWebhook(gatewayId, platformConversationId, 1_000, `wait-${Math.floor(Date.now() / 1000)}`);
      } else {
        await this.db.query(`UPDATE inbound_webhooks SET processed_at = now(), outcome = 'no escalation' WHERE id = ANY($1)`, [pending.map((p) => p.id)]);
      }
      return;
    }
    // One transaction for the whole batch: the session a gateway returns for one delivery is handed to the next
    // in memory (gateways may keep state between webhooks there), and the events are stored together.
    let session = this.repo.session(escalation);
    const events: PlatformUpdate['events'] = [];
    let sessionChanged = false;
    const done: { id: string; outcome: string }[] = [];
    let retryable: unknown = null;
    for (const row of pending) {
      let outcome = 'ok';
      try {
        const update = await gateway.handleWebhook!(this.runner.context(entity, escalation, session), {
          headers: row.headers,
          rawBody: row.body,
          receivedAt: row.received_at,
        });
        events.push(...update.events);
        if (update.session) {
          session = { ...(session ?? {}), ...update.session };
          sessionChanged = true;
        }
      } catch (error) {
        if (error instanceof GatewayError && error.retryable) {
          retryable = error;
          break;
        }
        outcome = `skipped: ${(error as Error).message}`.slice(0, 300);
        this.log.warn('webhook skipped', { gatewayId, eventId: row.event_id, error: (error as Error).message });
      }
      done.push({ id: row.id, outcome });
    }
    if (events.length || sessionChanged) await this.runner.record(escalation.id, { events, session: sessionChanged ? session ?? undefined : undefined });
    if (done.length) {
      // Not prepared, like the delivery record: a generic plan of a join with unnest() scans the table.
      await this.db.query(
        `UPDATE inbound_webhooks w SET processed_at = now(), outcome = d.outcome
           FROM unnest($1::bigint[], $2::text[]) AS d(id, outcome) WHERE w.id = d.id`,
        [done.map((d) => d.id), done.map((d) => d.outcome)],
      );
    }
    if (retryable) throw retryable;
  }
}
