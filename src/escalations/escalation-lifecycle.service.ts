import { Injectable } from '@nestjs/common';
import { AgentInfo, ChatGateway, GatewayContext, GatewayError, PlatformSession, PlatformUpdate, StartResult, toGatewayError } from '@app/gateway-sdk';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { unstorableConversationId } from '../common/storable-text';
import { EscalationEntity, GatewayEntity } from '../database/entities';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { EscalationContexts } from './escalation-contexts.service';
import { IngestOutcome } from './escalation-ingest.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationRecorder } from './escalation-recorder.service';
import { EscalationsRepository } from './escalations.repository';
import { recoveryFor } from './gateway-recovery';
import { serviceEvent } from './service-events';

/**
 * How long, beyond a webhook platform's reorder window, the service waits for the platform's close after a relay
 * found the session over: the close was sent when it happened, before our refused call, so it is stored or nearly.
 */
const CLOSE_WEBHOOK_GRACE_MS = 5_000;

/** How long a webhook platform's close may take to arrive and be processed (see `sessionEndedUnderRelay`). */
export function closeGraceMs(gateway: ChatGateway): number {
  return (gateway.definition.inboundReorderWindowMs ?? 0) + CLOSE_WEBHOOK_GRACE_MS;
}

/**
 * The platform session of escalations from start to end: opening it (retried per the API Retry settings until it
 * opens or the escalation times out), polling it, and what follows when it is lost, times out or is taken back.
 */
@Injectable()
export class EscalationLifecycle {
  private readonly log: ComponentLogger;

  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly recorder: EscalationRecorder,
    private readonly contexts: EscalationContexts,
    private readonly policies: EscalationPolicyResolver,
    private readonly jobs: JobDispatcher,
    logger: AppLogger,
  ) {
    this.log = logger.child('escalation-lifecycle');
  }

  async start(escalationId: string): Promise<void> {
    let escalation = await this.escalations.get(escalationId);
    if (escalation.state !== 'requested' && escalation.state !== 'starting') return;
    if (escalation.timeoutAt.getTime() <= Date.now()) return this.timeout(escalationId);
    const attempt = escalation.startAttempts + 1;
    await this.escalations.transaction(async (em) => {
      escalation = await this.escalations.lock(escalationId, em);
      await this.escalations.transition(em, escalation, 'starting', `start attempt ${attempt}`, { start_attempts: attempt, next_start_at: null });
    });
    if (escalation.state !== 'starting') return;
    const { gateway, entity } = await this.contexts.gatewayOf(escalation);
    const ctx = this.contexts.context(entity, escalation, null);
    let result: StartResult;
    try {
      result = await gateway.startEscalation(ctx, await this.contexts.requestOf(escalation));
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
      await this.recorder.record(escalationId, { events: [serviceEvent('failed', `failed:${attempt}`, { reason: `invalid_response: ${unfit}` })] });
      return;
    }
    let outcome: IngestOutcome;
    try {
      outcome = await this.recorder.record(escalationId, {
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
      await this.recorder.record(escalation.id, { events: [serviceEvent('failed', `failed:${attempt}`, { reason: recovery.reason })] });
      return;
    }
    const delayMs = recovery.action === 'retry' ? recovery.delayMs : policy.apiRetry.initialDelayMs;
    const nextAt = new Date(Date.now() + delayMs);
    await this.escalations.transaction(async (em) => {
      const locked = await this.escalations.lock(escalation.id, em);
      await this.escalations.transition(em, locked, 'requested', `start failed (${error.code}): ${error.message}`.slice(0, 500), { next_start_at: nextAt });
    });
    if (nextAt < escalation.timeoutAt) await this.jobs.start(escalation.id, attempt + 1, delayMs);
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
    held: { base?: GatewayContext; session?: PlatformSession | null } = {},
  ): Promise<{ stored: number; changed: boolean }> {
    if (!gateway.poll) return { stored: 0, changed: false };
    const session = held.session !== undefined ? held.session : this.escalations.session(escalation);
    if (!session) return { stored: 0, changed: false };
    const ctx = held.base ? this.contexts.contextFrom(held.base, escalation, session) : this.contexts.context(entity, escalation, session, 10_000);
    let update: PlatformUpdate;
    try {
      update = await gateway.poll(ctx, escalation.cursor);
    } catch (error) {
      const gatewayError = toGatewayError(error);
      if (gatewayError.code === 'session_gone') await this.sessionGone(escalation);
      else if (gatewayError.code === 'cursor_invalid') await this.recorder.record(escalation.id, { events: [], cursor: null });
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
      const result = before.length ? await this.recorder.record(escalation.id, { events: before }) : { stored: 0 };
      await this.sessionGone(escalation);
      return { stored: result.stored, changed: true };
    }
    const result = await this.recorder.record(escalation.id, update);
    return { stored: result.stored, changed: true };
  }

  /**
   * A relayed command found the platform session over: most often the agent closed the chat and the platform's
   * report of it had not reached us yet. The end is learnt from the platform the way the poller would learn it (a
   * poll from the stored cursor), so its events carry the platform's keys and are stored once whichever of the two
   * sees them first, and the gateway's close behaviour applies. A poll that fails for a while leaves the end to the
   * poller, which keeps polling an open escalation. A webhook platform reports the close by itself: the escalation
   * waits for it (`session_gone_at`, checked by a job that the reconcile pass makes again if Redis lost it).
   */
  async sessionEndedUnderRelay(escalation: EscalationEntity): Promise<void> {
    const fresh = await this.escalations.get(escalation.id);
    // The poller (or a webhook) recorded the end first.
    if (fresh.state !== 'queued' && fresh.state !== 'active') return;
    const { gateway, entity } = await this.contexts.gatewayOf(fresh);
    if (gateway.poll) {
      await this.pollOne(fresh, gateway, entity);
      return;
    }
    if (fresh.state !== 'active') return this.sessionGone(fresh);
    const marked = await this.escalations.markSessionGone(fresh.id);
    if (marked) await this.jobs.sessionGone(fresh.id, new Date(marked.getTime() + closeGraceMs(gateway)));
  }

  /**
   * The platform lost the session and says no more. Before an agent joined, the escalation is retriggered (as the
   * PureEngage gateway's product documentation says). With an agent, it ends as the agent's close would (the agent
   * left, then `ended` by the agent, so the gateway's "transfer back" setting decides), under fixed keys, so that a
   * second report of the loss adds nothing.
   */
  async sessionGone(escalation: Pick<EscalationEntity, 'id'>): Promise<void> {
    const fresh = await this.escalations.get(escalation.id);
    if (fresh.state === 'active') {
      const left = fresh.agent ? [serviceEvent('agent_left', 'session-gone:agent-left', { agent: fresh.agent as AgentInfo })] : [];
      const reason = 'the platform ended the session while the agent had the conversation, without saying how';
      await this.recorder.record(fresh.id, { events: [...left, serviceEvent('ended', 'session-gone', { by: 'agent', reason })] });
      return;
    }
    if (fresh.state !== 'queued' && fresh.state !== 'starting') return;
    await this.escalations.transaction(async (em) => {
      const locked = await this.escalations.lock(fresh.id, em);
      await this.escalations.transition(em, locked, 'requested', 'platform session lost before an agent joined; retriggering', { session_enc: null, cursor: null });
    });
    await this.jobs.start(fresh.id, fresh.startAttempts + 1);
  }

  async timeout(escalationId: string): Promise<void> {
    const escalation = await this.escalations.get(escalationId);
    if (!['requested', 'starting', 'queued'].includes(escalation.state)) return;
    if (escalation.timeoutAt.getTime() > Date.now() + 50) {
      await this.jobs.timeout(escalationId, escalation.timeoutAt);
      return;
    }
    await this.closeOnPlatform(escalation, 'a timeout');
    await this.recorder.record(escalationId, { events: [serviceEvent('ended', 'timeout', { by: 'timeout', reason: 'no agent joined in time' })] });
  }

  /** The bot takes the conversation back: end at once (not behind pending relay) and close the platform session. */
  async steal(escalationId: string, reason: string): Promise<void> {
    const escalation = await this.escalations.get(escalationId);
    await this.recorder.record(escalationId, { events: [serviceEvent('ended', `steal:${Date.now()}`, { by: 'system', reason: `taken back by the bot: ${reason}` })] });
    await this.closeOnPlatform(escalation, 'a steal');
  }

  /** Reconcile: the start, timeout and awaited-close jobs of the escalations that need them. */
  async reconcile(): Promise<{ starts: number; timeouts: number; awaitingClose: number }> {
    const starts = await this.escalations.toStart();
    for (const row of starts) await this.jobs.start(row.id, row.start_attempts + 1, row.next_start_at ? Math.max(0, row.next_start_at.getTime() - Date.now()) : 0);
    const waiting = await this.escalations.waiting();
    for (const row of waiting) await this.jobs.timeout(row.id, row.timeout_at);
    const awaitingClose = await this.escalations.awaitingClose();
    for (const row of awaitingClose) await this.jobs.sessionGone(row.id, row.session_gone_at);
    return { starts: starts.length, timeouts: waiting.length, awaitingClose: awaitingClose.length };
  }

  private async closeOnPlatform(escalation: EscalationEntity, after: string): Promise<void> {
    const session = this.escalations.session(escalation);
    if (!session) return;
    const { gateway, entity } = await this.contexts.gatewayOf(escalation);
    await gateway.endEscalation(this.contexts.context(entity, escalation, session)).catch((error) => {
      this.log.warn(`could not close the platform session after ${after}`, { escalationId: escalation.id, error: (error as Error).message });
    });
  }
}
