import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  AgentInfo,
  AttachmentRef,
  ChatGateway,
  EscalationContext,
  EscalationRequest,
  fetchLinkUnder,
  LinkPolicy,
  GatewayContext,
  OutboundHttpClient,
  GatewayError,
  HistoryEntry,
  PlatformEvent,
  PlatformSession,
  PlatformUpdate,
  StartResult,
  toGatewayError,
} from '@app/gateway-sdk';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { signalOnRead } from '../common/signal-on-read';
import { EscalationEntity, GatewayEntity, RelayCommandEntity } from '../database/entities';
import { prepared } from '../database/prepared';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { RedisLock } from '../queues/redis-lock';
import { Statement } from '../database/combined-statement';
import { EscalationIngestService, IngestInput, IngestItem, IngestOutcome } from './escalation-ingest.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationsRepository } from './escalations.repository';
import { recoveryFor } from './gateway-recovery';
import { unstorableConversationId } from '../common/storable-text';
import { JobDispatcher } from '../queues/job-dispatcher.service';

/** Stands for a signal `contextFrom` makes on first read; never seen by a gateway. */
const NOT_MADE_YET = new AbortController().signal;

const serviceEvent = <T extends PlatformEvent['type']>(type: T, key: string, data: Extract<PlatformEvent, { type: T }>['data']): PlatformEvent =>
  ({ type, key: `svc:${key}`, occurredAt: new Date(), data }) as PlatformEvent;

const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
/** For a link a platform handed over (`fetchLink`), redirects included: the time handling a webhook has for its calls. */
const PLATFORM_LINK_TIMEOUT_MS = 30_000;
const RELAY_LOCK_TTL_MS = 10_000;
/** How long a relay drainer's lease lasts unless renewed (every third of it); a drainer that died frees it after this. */
const RELAY_LEASE_MS = 10_000;
/**
 * How long, beyond a webhook platform's reorder window, the service waits for the platform's close after a relay
 * found the session over: the close was sent when it happened, before our refused call, so it is stored or nearly.
 */
const CLOSE_WEBHOOK_GRACE_MS = 5_000;

function closeGraceMs(gateway: ChatGateway): number {
  return (gateway.definition.inboundReorderWindowMs ?? 0) + CLOSE_WEBHOOK_GRACE_MS;
}

/** A relay drainer's lease on its escalation (see `EscalationRunner.relayLease`). */
interface RelayLease {
  /** Set when a renewal found the lease gone (expired and taken): the drainer stops before its next command. */
  lost: boolean;
  release(): Promise<void>;
}

/** Runs the platform side of escalations: start, relay in order, polling, timeouts, ends. Called by processors. */
@Injectable()
export class EscalationRunner {
  private readonly log: ComponentLogger;

  constructor(
    private readonly repo: EscalationsRepository,
    private readonly ingest: EscalationIngestService,
    private readonly jobs: JobDispatcher,
    private readonly registry: GatewayRegistry,
    private readonly contexts: GatewayContextFactory,
    private readonly policies: EscalationPolicyResolver,
    private readonly lock: RedisLock,
    private readonly outbound: OutboundHttpClient,
    logger: AppLogger,
  ) {
    this.log = logger.child('escalation-runner');
  }

  /** Records what a platform call reported (and the engine's own decision) and triggers what follows the commit. */
  async record(escalationId: string, input: IngestInput) {
    const result = await this.repo.db.transaction((em) => this.ingest.ingestIn(em, escalationId, input));
    await this.ingest.afterCommit(escalationId, result);
    return result;
  }

  /** `record` for several distinct escalations in one transaction, with `alongside` (see EscalationIngestService.ingestManyIn). */
  async recordMany(items: IngestItem[], alongside: Statement[] = []): Promise<IngestOutcome[]> {
    const results = await this.repo.db.transaction((em) => this.ingest.ingestManyIn(em, items, alongside));
    await this.ingest.afterCommitMany(items.map((item, i) => ({ escalationId: item.escalationId, result: results[i] })));
    return results;
  }

  async start(escalationId: string): Promise<void> {
    let escalation = await this.repo.get(escalationId);
    if (escalation.state !== 'requested' && escalation.state !== 'starting') return;
    if (escalation.timeoutAt.getTime() <= Date.now()) return this.timeout(escalationId);
    const attempt = escalation.startAttempts + 1;
    await this.repo.db.transaction(async (em) => {
      escalation = await this.repo.lock(escalationId, em);
      await this.repo.transition(em, escalation, 'starting', `start attempt ${attempt}`, { start_attempts: attempt, next_start_at: null });
    });
    if (escalation.state !== 'starting') return;
    const { gateway, entity } = await this.gatewayOf(escalation);
    const ctx = this.context(entity, escalation, null);
    let result: StartResult;
    try {
      result = await gateway.startEscalation(ctx, await this.requestOf(escalation));
    } catch (error) {
      return this.onStartFailure(escalation, toGatewayError(error), attempt);
    }
    // Whatever stops the session from being recorded closes it on the platform first, so that neither the failure
    // nor the next attempt leaves an agent a chat that nobody follows.
    const closeOnPlatform = () => gateway.endEscalation({ ...ctx, session: result.session }).catch(() => undefined);
    const unfit = unstorableConversationId(result.platformConversationId);
    if (unfit) {
      // A platform that names its chat so is not going to name the next one better: fail rather than retrigger.
      this.log.warn('start refused: the platform session cannot be stored', { escalationId, error: unfit });
      await closeOnPlatform();
      await this.record(escalationId, { events: [serviceEvent('failed', `failed:${attempt}`, { reason: `invalid_response: ${unfit}` })] });
      return;
    }
    let outcome: IngestOutcome;
    try {
      outcome = await this.record(escalationId, {
        events: [serviceEvent('queued', 'queued', { queueId: escalation.queue ?? undefined }), ...result.events],
        cursor: result.cursor ?? null,
        session: result.session,
        transition: { to: 'queued', reason: 'platform session opened', fields: { platform_conversation_id: result.platformConversationId ?? null } },
      });
    } catch (error) {
      await closeOnPlatform();
      return this.onStartFailure(escalation, toGatewayError(error), attempt);
    }
    if (outcome.state === 'ended' || outcome.state === 'timed_out' || outcome.state === 'failed') {
      // The escalation ended while the platform call was in flight: do not leave a chat open there.
      await closeOnPlatform();
    }
  }

  private async onStartFailure(escalation: EscalationEntity, error: GatewayError, attempt: number): Promise<void> {
    const policy = await this.policies.forGateway(escalation.gatewayId);
    const recovery = recoveryFor(error, attempt, policy);
    this.log.warn('start failed', { escalationId: escalation.id, attempt, code: error.code, error: error.message, recovery: recovery.action });
    if (recovery.action === 'fail') {
      await this.record(escalation.id, { events: [serviceEvent('failed', `failed:${attempt}`, { reason: recovery.reason })] });
      return;
    }
    const delayMs = recovery.action === 'retry' ? recovery.delayMs : policy.apiRetry.initialDelayMs;
    const nextAt = new Date(Date.now() + delayMs);
    await this.repo.db.transaction(async (em) => {
      const locked = await this.repo.lock(escalation.id, em);
      await this.repo.transition(em, locked, 'requested', `start failed (${error.code}): ${error.message}`.slice(0, 500), { next_start_at: nextAt });
    });
    if (nextAt < escalation.timeoutAt) await this.jobs.start(escalation.id, attempt + 1, delayMs);
  }

  /**
   * Sends pending relay commands of one escalation, strictly in order, one drainer at a time: the Redis lock keeps
   * other drainers waiting cheaply, the lease in PostgreSQL (`relayLease`) makes it so when Redis lost the lock.
   */
  async relay(escalationId: string): Promise<void> {
    await this.lock.coalesce(
      `relay:${escalationId}`,
      RELAY_LOCK_TTL_MS,
      () => this.drainLeased(escalationId),
      (delayMs) => this.jobs.relay(escalationId, `check-${Date.now()}`, delayMs),
    );
  }

  /**
   * Drains under the escalation's relay lease. Without it (another drainer holds it) nothing is sent: that drainer
   * looks for due commands again after letting go, so one committed meanwhile is not left behind.
   */
  private async drainLeased(escalationId: string): Promise<void> {
    for (;;) {
      const lease = await this.relayLease(escalationId);
      if (!lease) {
        // Its holder may have died: look again once the lease would have run out (one job per lease period).
        await this.jobs.relay(escalationId, `lease-${Math.floor(Date.now() / RELAY_LEASE_MS)}`, RELAY_LEASE_MS + 1_000);
        return;
      }
      try {
        await this.drain(escalationId, lease);
      } finally {
        await lease.release();
      }
      if (lease.lost) return;
      const [{ due }] = await this.repo.db.query(
        `SELECT EXISTS (SELECT 1 FROM relay_commands r JOIN escalations e ON e.id = r.escalation_id
                         WHERE r.escalation_id = $1 AND r.status = 'pending' AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= now())
                           AND e.state IN ('queued', 'active')) AS due`,
        [escalationId],
      );
      if (!due) return;
    }
  }

  /** Takes the escalation's relay lease, kept by a timer until released; null when another drainer holds it. */
  private async relayLease(escalationId: string): Promise<RelayLease | null> {
    const token = randomUUID();
    const taken = await prepared(
      this.repo.db,
      `UPDATE escalations SET relay_claim = $2, relay_claimed_until = now() + ($3 || ' milliseconds')::interval
        WHERE id = $1 AND (relay_claimed_until IS NULL OR relay_claimed_until <= now()) RETURNING id`,
      [escalationId, token, String(RELAY_LEASE_MS)],
    );
    if (taken.length === 0) return null;
    const lease: RelayLease = { lost: false, release: async () => undefined };
    const renewal = setInterval(() => {
      prepared(this.repo.db, `UPDATE escalations SET relay_claimed_until = now() + ($3 || ' milliseconds')::interval WHERE id = $1 AND relay_claim = $2 RETURNING id`, [
        escalationId,
        token,
        String(RELAY_LEASE_MS),
      ])
        .then((renewed) => {
          if (renewed.length === 0) lease.lost = true;
        })
        .catch(() => undefined);
    }, RELAY_LEASE_MS / 3);
    lease.release = async () => {
      clearInterval(renewal);
      await prepared(this.repo.db, `UPDATE escalations SET relay_claim = NULL, relay_claimed_until = NULL WHERE id = $1 AND relay_claim = $2`, [escalationId, token]);
    };
    return lease;
  }

  private async drain(escalationId: string, lease: RelayLease): Promise<void> {
    for (;;) {
      // A lease that could not be renewed may be another drainer's by now: it sends what is left.
      if (lease.lost) return;
      const escalation = await this.repo.get(escalationId);
      if (escalation.state !== 'queued' && escalation.state !== 'active') return;
      const command = await this.repo.db.getRepository(RelayCommandEntity).findOne({ where: { escalationId, status: 'pending' }, order: { seq: 'ASC' } });
      if (!command) return;
      if (command.nextAttemptAt && command.nextAttemptAt.getTime() > Date.now()) {
        await this.jobs.relay(escalationId, `retry-${command.seq}-${command.attempts}`, command.nextAttemptAt.getTime() - Date.now());
        return;
      }
      if (command.author === 'bot') {
        const [{ control }] = await this.repo.db.query(`SELECT control FROM conversations WHERE id = $1`, [escalation.conversationId]);
        if (control === 'agent') {
          await this.setCommand(command, 'skipped', 'an agent controls the conversation');
          continue;
        }
      }
      const { gateway, entity } = await this.gatewayOf(escalation);
      const ctx = this.context(entity, escalation, this.repo.session(escalation));
      let update: PlatformUpdate;
      try {
        update = await this.execute(gateway, ctx, command);
      } catch (error) {
        const handled = await this.onRelayFailure(escalation, command, toGatewayError(error));
        if (handled === 'stop') return;
        continue;
      }
      await this.setCommand(command, 'sent', null);
      // The platform took a command after all: its session is not over, and no end is awaited.
      if (escalation.sessionGoneAt) await this.repo.db.query(`UPDATE escalations SET session_gone_at = NULL WHERE id = $1`, [escalationId]);
      const extra: PlatformEvent[] = command.kind === 'end' ? [serviceEvent('ended', 'user-end', { by: 'user' })] : [];
      await this.record(escalationId, { events: [...update.events, ...extra], cursor: update.cursor, session: update.session });
    }
  }

  private execute(gateway: ChatGateway, ctx: EscalationContext, command: RelayCommandEntity): Promise<PlatformUpdate> {
    const payload = command.payload as Record<string, unknown>;
    switch (command.kind) {
      case 'message':
        return gateway.sendMessage(ctx, {
          id: command.id,
          text: payload.text as string | undefined,
          attachments: payload.attachments as AttachmentRef[] | undefined,
          cards: payload.cards as never,
        });
      case 'typing':
        return gateway.sendTyping(ctx, payload.state === 'started');
      case 'end':
        return gateway.endEscalation(ctx);
      case 'transfer':
        if (!gateway.transferEscalation) throw new GatewayError('invalid_request', 'this gateway type cannot transfer between queues');
        return gateway.transferEscalation(ctx, String(payload.queue));
    }
  }

  private async onRelayFailure(escalation: EscalationEntity, command: RelayCommandEntity, error: GatewayError): Promise<'stop' | 'next'> {
    const policy = await this.policies.forGateway(escalation.gatewayId);
    const attempts = command.attempts + 1;
    const recovery = recoveryFor(error, attempts, policy);
    this.log.warn('relay failed', { escalationId: escalation.id, seq: command.seq, kind: command.kind, attempts, code: error.code, recovery: recovery.action });
    if (recovery.action === 'retry') {
      const nextAt = new Date(Date.now() + recovery.delayMs);
      await this.repo.db.query(`UPDATE relay_commands SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1`, [command.id, attempts, nextAt, error.message.slice(0, 500)]);
      await this.jobs.relay(escalation.id, `retry-${command.seq}-${attempts}`, recovery.delayMs);
      return 'stop';
    }
    if (recovery.action === 'session_gone') {
      if (command.kind === 'end') {
        await this.setCommand(command, 'sent', 'platform session was already gone');
        await this.record(escalation.id, { events: [serviceEvent('ended', 'user-end', { by: 'user' })] });
      } else {
        await this.setCommand(command, 'failed', `not sent: the platform session had ended (${error.message})`.slice(0, 500));
        await this.sessionEndedUnderRelay(escalation);
      }
      return 'stop';
    }
    await this.setCommand(command, 'failed', recovery.action === 'fail' ? recovery.reason : error.message);
    return 'next';
  }

  /**
   * Reads new events of one escalation (poll-based gateways). A poll that finds nothing writes nothing. The poller
   * may hand in what it already holds (the gateway's context with opened settings and a deadline, the decrypted
   * session) so that a poll decrypts and builds nothing. `changed` says whether the escalation's row was written
   * (cursor, session, state), i.e. whether a copy of it is stale.
   */
  async pollOne(
    escalation: EscalationEntity,
    gateway: ChatGateway,
    entity: GatewayEntity,
    prepared: { base?: GatewayContext; session?: PlatformSession | null } = {},
  ): Promise<{ stored: number; changed: boolean }> {
    if (!gateway.poll) return { stored: 0, changed: false };
    const session = prepared.session !== undefined ? prepared.session : this.repo.session(escalation);
    if (!session) return { stored: 0, changed: false };
    const ctx = prepared.base ? this.contextFrom(prepared.base, escalation, session) : this.context(entity, escalation, session, 10_000);
    let update: PlatformUpdate;
    try {
      update = await gateway.poll(ctx, escalation.cursor);
    } catch (error) {
      const gatewayError = toGatewayError(error);
      if (gatewayError.code === 'session_gone') await this.sessionGone(escalation);
      else if (gatewayError.code === 'cursor_invalid') await this.record(escalation.id, { events: [], cursor: null });
      else {
        if (!gatewayError.retryable) this.log.warn('poll refused', { escalationId: escalation.id, code: gatewayError.code, error: gatewayError.message });
        return { stored: 0, changed: false };
      }
      return { stored: 0, changed: true };
    }
    const cursorMoved = update.cursor !== undefined && update.cursor !== escalation.cursor;
    if (update.events.length === 0 && !cursorMoved && !update.session) return { stored: 0, changed: false };
    // The platform dropped the session (e.g. GMS flex-disconnect) while the chat still waited for an agent: the
    // PureEngage gateway's product documentation retriggers the escalation instead of ending it. What came before the
    // drop is still recorded.
    const dropped = update.events.findIndex((e) => e.type === 'ended' && e.data.by === 'system');
    if (dropped >= 0 && escalation.state === 'queued' && !update.events.slice(0, dropped).some((e) => e.type === 'agent_joined')) {
      const before = update.events.slice(0, dropped);
      const result = before.length ? await this.record(escalation.id, { events: before }) : { stored: 0 };
      await this.sessionGone(escalation);
      return { stored: result.stored, changed: true };
    }
    const result = await this.record(escalation.id, update);
    return { stored: result.stored, changed: true };
  }

  /**
   * A relayed command found the platform session over: most often the agent closed the chat and the platform's
   * report of it had not reached us yet. The end is learnt from the platform the way the poller would learn it (a
   * poll from the stored cursor), so its events carry the platform's keys and are stored once whichever of the two
   * sees them first, and the gateway's close behaviour applies. A poll that fails for a while leaves the end to the
   * poller, which keeps polling an open escalation.
   */
  private async sessionEndedUnderRelay(escalation: EscalationEntity): Promise<void> {
    const fresh = await this.repo.get(escalation.id);
    // The poller (or a webhook) recorded the end first.
    if (fresh.state !== 'queued' && fresh.state !== 'active') return;
    const { gateway, entity } = await this.gatewayOf(fresh);
    if (gateway.poll) {
      await this.pollOne(fresh, gateway, entity);
      return;
    }
    if (fresh.state !== 'active') return this.sessionGone(fresh);
    // A webhook platform reports the close by itself: give its webhook time to arrive and be processed, so that its
    // events (under its keys) make the end. `session_gone_at` lets the reconcile pass schedule the check again.
    const [marked] = await prepared<{ session_gone_at: Date }>(
      this.repo.db,
      `UPDATE escalations SET session_gone_at = coalesce(session_gone_at, now()) WHERE id = $1 AND state = 'active' RETURNING session_gone_at`,
      [fresh.id],
    );
    if (marked) await this.jobs.sessionGone(fresh.id, new Date(marked.session_gone_at.getTime() + closeGraceMs(gateway)));
  }

  /**
   * The wait for a webhook platform's close (see `sessionEndedUnderRelay`) is over, or the reconcile pass asks. A
   * delivery of the conversation still unprocessed may be that close: its pass ends the escalation, so the check
   * looks again after it. Without a close, the escalation ends as a lost session.
   */
  async awaitedCloseDue(escalationId: string): Promise<void> {
    const escalation = await this.repo.get(escalationId);
    if (!escalation.sessionGoneAt) return;
    if (escalation.state === 'active') {
      const { gateway } = await this.gatewayOf(escalation);
      const due = escalation.sessionGoneAt.getTime() + closeGraceMs(gateway);
      if (due > Date.now()) {
        await this.jobs.sessionGone(escalationId, new Date(due));
        return;
      }
      const [{ pending }] = await this.repo.db.query(
        `SELECT EXISTS (SELECT 1 FROM inbound_webhooks WHERE gateway_id = $1 AND platform_conversation_id = $2 AND processed_at IS NULL) AS pending`,
        [escalation.gatewayId, escalation.platformConversationId],
      );
      if (pending) {
        await this.jobs.sessionGone(escalationId, new Date(Date.now() + (gateway.definition.inboundReorderWindowMs ?? 0) + 1_000));
        return;
      }
      await this.sessionGone(escalation);
    }
    await this.repo.db.query(`UPDATE escalations SET session_gone_at = NULL WHERE id = $1`, [escalationId]);
  }

  /**
   * The platform lost the session and says no more. Before an agent joined, the escalation is retriggered (as the
   * PureEngage gateway's product documentation says). With an agent, it ends as the agent's close would (the agent
   * left, then `ended` by the agent, so the gateway's "transfer back" setting decides), under fixed keys, so that a
   * second report of the loss adds nothing.
   */
  async sessionGone(escalation: EscalationEntity): Promise<void> {
    const fresh = await this.repo.get(escalation.id);
    if (fresh.state === 'active') {
      const left = fresh.agent ? [serviceEvent('agent_left', 'session-gone:agent-left', { agent: fresh.agent as AgentInfo })] : [];
      const reason = 'the platform ended the session while the agent had the conversation, without saying how';
      await this.record(fresh.id, { events: [...left, serviceEvent('ended', 'session-gone', { by: 'agent', reason })] });
      return;
    }
    if (fresh.state !== 'queued' && fresh.state !== 'starting') return;
    await this.repo.db.transaction(async (em) => {
      const locked = await this.repo.lock(fresh.id, em);
      await this.repo.transition(em, locked, 'requested', 'platform session lost before an agent joined; retriggering', { session_enc: null, cursor: null });
    });
    await this.jobs.start(fresh.id, fresh.startAttempts + 1);
  }

  async timeout(escalationId: string): Promise<void> {
    const escalation = await this.repo.get(escalationId);
    if (!['requested', 'starting', 'queued'].includes(escalation.state)) return;
    if (escalation.timeoutAt.getTime() > Date.now() + 50) {
      await this.jobs.timeout(escalationId, escalation.timeoutAt);
      return;
    }
    const session = this.repo.session(escalation);
    if (session) {
      const { gateway, entity } = await this.gatewayOf(escalation);
      await gateway.endEscalation(this.context(entity, escalation, session)).catch((error) => {
        this.log.warn('could not close the platform session after a timeout', { escalationId, error: (error as Error).message });
      });
    }
    await this.record(escalationId, { events: [serviceEvent('ended', 'timeout', { by: 'timeout', reason: 'no agent joined in time' })] });
  }

  /** The bot takes the conversation back: end at once (not behind pending relay) and close the platform session. */
  async steal(escalationId: string, reason: string): Promise<void> {
    const escalation = await this.repo.get(escalationId);
    const session = this.repo.session(escalation);
    await this.record(escalationId, { events: [serviceEvent('ended', `steal:${Date.now()}`, { by: 'system', reason: `taken back by the bot: ${reason}` })] });
    if (session) {
      const { gateway, entity } = await this.gatewayOf(escalation);
      await gateway.endEscalation(this.context(entity, escalation, session)).catch((error) => {
        this.log.warn('could not close the platform session after a steal', { escalationId, error: (error as Error).message });
      });
    }
  }

  async gatewayOf(escalation: EscalationEntity): Promise<{ gateway: ChatGateway; entity: GatewayEntity }> {
    const entity = await this.repo.db.getRepository(GatewayEntity).findOneByOrFail({ id: escalation.gatewayId });
    return { gateway: this.registry.get(entity.type).gateway, entity };
  }

  context(entity: GatewayEntity, escalation: Pick<EscalationEntity, 'id'>, session: EscalationContext['session'], timeoutMs = 30_000): EscalationContext {
    return this.contextFrom(this.contexts.create(entity, timeoutMs), escalation, session);
  }

  /**
   * An escalation's context on a gateway context the caller already holds (its settings decrypted once). `signal` as
   * a function is called when the gateway first reads the context's signal, if it does.
   */
  contextFrom(
    base: GatewayContext,
    escalation: Pick<EscalationEntity, 'id'>,
    session: EscalationContext['session'],
    signal: AbortSignal | (() => AbortSignal) = base.signal,
  ): EscalationContext {
    // Spelled out rather than spread: this runs once per poll, thousands of times a second.
    const ctx: EscalationContext = {
      gatewayId: base.gatewayId,
      settings: base.settings,
      provisioning: base.provisioning,
      webhookUrl: base.webhookUrl,
      logger: base.logger,
      signal: typeof signal === 'function' ? NOT_MADE_YET : signal,
      tokens: base.tokens,
      http: base.http,
      escalationId: escalation.id,
      session,
      readAttachment: (ref) => this.readAttachment(escalation.id, ref),
      fetchLink: (url, maxBytes) => fetchLinkUnder(this.linkPolicy(PLATFORM_LINK_TIMEOUT_MS), url, maxBytes),
    };
    return typeof signal === 'function' ? signalOnRead(ctx, signal) : ctx;
  }

  /** The outbound policy for links from outside (platforms' files, users' attachment URLs). */
  private linkPolicy(timeoutMs: number): LinkPolicy {
    return { allowPrivateNetworks: this.outbound.policy.allowPrivateNetworks, resolve: this.outbound.policy.resolve, timeoutMs };
  }

  private async readAttachment(escalationId: string, ref: AttachmentRef): Promise<Buffer> {
    if (ref.id) {
      const [row] = await this.repo.db.query(`SELECT content FROM attachments WHERE id = $1 AND escalation_id = $2`, [ref.id, escalationId]);
      if (!row) throw new GatewayError('invalid_request', `attachment ${ref.id} is not stored`);
      return row.content as Buffer;
    }
    if (!ref.url) throw new GatewayError('invalid_request', 'attachment has neither id nor url');
    // The link, each redirect and the addresses they resolve to are held to the outbound policy.
    const fetched = await fetchLinkUnder(this.linkPolicy(20_000), ref.url, MAX_ATTACHMENT_BYTES);
    if ('refused' in fetched) throw new GatewayError('invalid_request', `attachment ${fetched.refused}`);
    if (fetched.status < 200 || fetched.status >= 300) throw new GatewayError(fetched.status >= 500 ? 'transient' : 'invalid_request', `attachment download answered ${fetched.status}`);
    return fetched.content;
  }

  private async requestOf(escalation: EscalationEntity): Promise<EscalationRequest> {
    const [conversation] = await this.repo.db.query(`SELECT external_id, channel FROM conversations WHERE id = $1`, [escalation.conversationId]);
    return {
      escalationId: escalation.id,
      conversation: { externalId: conversation.external_id, channel: conversation.channel },
      user: escalation.endUser,
      attributes: escalation.attributes,
      history: escalation.history as HistoryEntry[],
      queue: escalation.queue ?? undefined,
    };
  }

  private async setCommand(command: RelayCommandEntity, status: RelayCommandEntity['status'], error: string | null): Promise<void> {
    await this.repo.db.query(
      `UPDATE relay_commands SET status = $2, last_error = $3, sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END, attempts = attempts + 1 WHERE id = $1`,
      [command.id, status, error],
    );
  }
}
