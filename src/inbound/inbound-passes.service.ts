import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { GatewayError, PlatformSession, PlatformUpdate } from '@app/gateway-sdk';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { InProcessPasses } from '../common/in-process-passes';
import { AppConfig } from '../config/app-config';
import { EscalationContexts } from '../escalations/escalation-contexts.service';
import { EscalationRecorder } from '../escalations/escalation-recorder.service';
import { EscalationsRepository } from '../escalations/escalations.repository';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { RedisLock } from '../queues/redis-lock';
import { InboundWebhooksRepository, ProcessedWebhook, StoredWebhook } from './inbound-webhooks.repository';
import { WebhookGateway, WebhookGateways } from './webhook-gateways.service';

/** A platform that announces a conversation before our start committed its id is waited for this long. */
const ORPHAN_AFTER_MS = 10 * 60_000;
const LOCK_TTL_MS = 10_000;
/** Deliveries one pass reads. */
const MAX_PER_PASS = 1_000;

/** One conversation's share of a pass: its escalation's events and session, the deliveries they came from. */
interface ConversationWork {
  escalationId: string;
  events: PlatformUpdate['events'];
  session: PlatformSession | undefined;
  done: ProcessedWebhook[];
  retryable: unknown;
}

/**
 * Turns stored webhook deliveries into events, a gateway at a time. The passes run in this process when it runs
 * workers, skipping the queue's round trips: a trigger while this process's pass runs only asks it to run once
 * more, and the pass's Redis lock keeps other processes' passes out. A pass that fails is queued as a job, for
 * BullMQ's retries.
 */
@Injectable()
export class InboundPasses implements BeforeApplicationShutdown {
  private readonly log: ComponentLogger;
  private readonly passes = new InProcessPasses(
    (gatewayId, again) => this.process(gatewayId, again),
    (gatewayId, error) => {
      this.log.warn('inbound pass failed; queued instead', { gatewayId, error: (error as Error).message });
      return this.jobs.inboundNew(gatewayId);
    },
  );

  constructor(
    private readonly webhookGateways: WebhookGateways,
    private readonly webhooks: InboundWebhooksRepository,
    private readonly escalations: EscalationsRepository,
    private readonly contexts: EscalationContexts,
    private readonly recorder: EscalationRecorder,
    private readonly jobs: JobDispatcher,
    private readonly lock: RedisLock,
    readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.log = logger.child('inbound-webhooks');
  }

  /** False once shutting down: a trigger is then queued as a job instead. */
  get open(): boolean {
    return this.passes.open;
  }

  /** Runs the gateway's pass in this process (see `InProcessPasses`). */
  trigger(gatewayId: string): void {
    this.passes.trigger(gatewayId);
  }

  /** Reconcile: a pass for each gateway with deliveries not processed yet. */
  async reconcile(token: string): Promise<number> {
    const gateways = await this.webhooks.gatewaysWithPending();
    for (const gatewayId of gateways) await this.jobs.inboundPass(gatewayId, 0, token);
    return gateways.length;
  }

  /** Lets the passes running in this process end before the pool closes (they are bounded by their lock's TTL). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.passes.close();
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
    const intake = await this.webhookGateways.get(gatewayId);
    if (!intake) return;
    const { windowMs } = intake;
    // A full pass leaves the rest to the next one, which it triggers.
    const stored = await this.webhooks.pending(gatewayId, windowMs, MAX_PER_PASS);
    const byConversation = new Map<string, StoredWebhook[]>();
    for (const row of stored) {
      const rows = byConversation.get(row.platform_conversation_id);
      if (rows) rows.push(row);
      else byConversation.set(row.platform_conversation_id, [row]);
    }
    const work: ConversationWork[] = [];
    const done: ProcessedWebhook[] = [];
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
      if (done.length) await this.webhooks.markProcessed(done);
    }
    if (stored.length === MAX_PER_PASS) await this.jobs.inboundNew(gatewayId);
    // Stored events went on; the job's retry (BullMQ backoff) takes the conversations that could not.
    if (retryable) throw retryable;
    if (recorded !== 'all' && recorded.size < writing.length) throw new Error('some conversations\' events could not be stored; the job is retried');
  }

  /** Runs one conversation's due deliveries through the gateway, the session handed from one to the next. */
  private async handle(intake: WebhookGateway, pending: StoredWebhook[]): Promise<ConversationWork> {
    const { entity, gateway, context } = intake;
    const escalation = { id: pending[0].escalation_id!, sessionEnc: pending[0].session_enc };
    let session = this.escalations.session(escalation);
    const work: ConversationWork = { escalationId: escalation.id, events: [], session: undefined, done: [], retryable: null };
    for (const row of pending) {
      let outcome = 'ok';
      try {
        // On the intake's context: the gateway's settings as verification saw them, not decrypted again per
        // delivery; 30 s for what handling fetches (an agent's file), as for the escalation's other platform calls.
        // The signal is made only if handling reads it: one made for every delivery keeps its timer armed for the
        // whole 30 s, long enough to be promoted to the old generation and to bring full collections on sooner
        // (docs/benchmarks.md).
        const update = await gateway.handleWebhook!(this.contexts.contextFrom(context, escalation, session, () => AbortSignal.timeout(30_000)), {
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
  private async recordAll(work: ConversationWork[], done: ProcessedWebhook[]): Promise<'all' | Set<string>> {
    const items = work.map((w) => ({ escalationId: w.escalationId, input: { events: w.events, session: w.session ?? undefined } }));
    if (items.length === 0) return new Set();
    try {
      await this.recorder.recordMany(items, [this.webhooks.markProcessedStatement(done)]);
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
        await this.recorder.recordMany([item]);
        recorded.add(item.escalationId);
      } catch (error) {
        this.log.warn('webhook events not stored; retried', { escalationId: item.escalationId, error: (error as Error).message });
      }
    }
    return recorded;
  }
}
