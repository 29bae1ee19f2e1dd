import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AttachmentRef, ChatGateway, EscalationContext, GatewayError, PlatformEvent, PlatformUpdate, toGatewayError } from '@app/gateway-sdk';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { EscalationEntity, RelayCommandEntity } from '../database/entities';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { HeldLease, keepLease } from '../queues/lease';
import { RedisLock } from '../queues/redis-lock';
import { EscalationContexts } from './escalation-contexts.service';
import { EscalationLifecycle } from './escalation-lifecycle.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationRecorder } from './escalation-recorder.service';
import { EscalationsRepository } from './escalations.repository';
import { recoveryFor } from './gateway-recovery';
import { RelayCommandsRepository } from './relay-commands.repository';
import { serviceEvent } from './service-events';

const RELAY_LOCK_TTL_MS = 10_000;
/** How long a relay drainer's lease lasts unless renewed; a drainer that died frees it after this. */
export const RELAY_LEASE_MS = 10_000;

/**
 * Sends an escalation's relay commands (the user's messages, typing, transfers, the end) to the platform, strictly
 * in order, one drainer at a time: the Redis lock keeps other drainers waiting cheaply, the relay lease in
 * PostgreSQL makes it so when Redis lost the lock. A failed command is retried per the API Retry settings, the
 * commands after it waiting.
 */
@Injectable()
export class RelayDrainer {
  private readonly log: ComponentLogger;

  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly commands: RelayCommandsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly recorder: EscalationRecorder,
    private readonly lifecycle: EscalationLifecycle,
    private readonly contexts: EscalationContexts,
    private readonly policies: EscalationPolicyResolver,
    private readonly jobs: JobDispatcher,
    private readonly lock: RedisLock,
    logger: AppLogger,
  ) {
    this.log = logger.child('relay');
  }

  async relay(escalationId: string): Promise<void> {
    await this.lock.coalesce(
      `relay:${escalationId}`,
      RELAY_LOCK_TTL_MS,
      () => this.drainLeased(escalationId),
      (delayMs) => this.jobs.relay(escalationId, `check-${Date.now()}`, delayMs),
    );
  }

  /** Reconcile: a relay job for each escalation with commands pending. */
  async reconcile(token: string): Promise<number> {
    const ids = await this.commands.escalationsWithPending();
    for (const id of ids) await this.jobs.relay(id, token);
    return ids.length;
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
      let stopped: 'drained' | 'waiting';
      try {
        stopped = await this.drain(escalationId, lease);
      } finally {
        await lease.release();
      }
      // A command waiting for its retry holds those behind it, which `hasDue` counts: looking again would spin until
      // then. Its job drains them.
      if (lease.lost || stopped === 'waiting' || !(await this.commands.hasDue(escalationId))) return;
    }
  }

  /** Takes the escalation's relay lease and keeps it until released; null when another drainer holds it. */
  private async relayLease(escalationId: string): Promise<HeldLease | null> {
    const token = randomUUID();
    if (!(await this.escalations.takeRelayLease(escalationId, token, RELAY_LEASE_MS))) return null;
    return keepLease(
      {
        renew: () => this.escalations.renewRelayLease(escalationId, token, RELAY_LEASE_MS),
        release: () => this.escalations.releaseRelayLease(escalationId, token),
      },
      RELAY_LEASE_MS,
    );
  }

  /** Sends the due commands in order; answers `waiting` when it stopped at one scheduled for a retry. */
  private async drain(escalationId: string, lease: HeldLease): Promise<'drained' | 'waiting'> {
    for (;;) {
      // A lease that could not be renewed may be another drainer's by now: it sends what is left.
      if (lease.lost) return 'drained';
      const escalation = await this.escalations.get(escalationId);
      if (escalation.state !== 'queued' && escalation.state !== 'active') return 'drained';
      const command = await this.commands.nextPending(escalationId);
      if (!command) return 'drained';
      if (command.nextAttemptAt && command.nextAttemptAt.getTime() > Date.now()) {
        await this.jobs.relay(escalationId, `retry-${command.seq}-${command.attempts}`, command.nextAttemptAt.getTime() - Date.now());
        return 'waiting';
      }
      if (command.author === 'bot' && (await this.conversations.control(escalation.conversationId)) === 'agent') {
        await this.commands.settle(command.id, 'skipped', 'an agent controls the conversation');
        continue;
      }
      const { gateway, entity } = await this.contexts.gatewayOf(escalation);
      const ctx = this.contexts.context(entity, escalation, this.escalations.session(escalation));
      let update: PlatformUpdate;
      try {
        update = await this.execute(gateway, ctx, command);
      } catch (error) {
        const handled = await this.onFailure(escalation, command, toGatewayError(error));
        if (handled === 'wait') return 'waiting';
        if (handled === 'stop') return 'drained';
        continue;
      }
      await this.commands.settle(command.id, 'sent', null);
      // The platform took a command after all: its session is not over, and no end is awaited.
      if (escalation.sessionGoneAt) await this.escalations.clearSessionGone(escalationId);
      const extra: PlatformEvent[] = command.kind === 'end' ? [serviceEvent('ended', 'user-end', { by: 'user' })] : [];
      await this.recorder.record(escalationId, { events: [...update.events, ...extra], cursor: update.cursor, session: update.session });
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

  private async onFailure(escalation: EscalationEntity, command: RelayCommandEntity, error: GatewayError): Promise<'wait' | 'stop' | 'next'> {
    const policy = await this.policies.forGateway(escalation.gatewayId);
    const attempts = command.attempts + 1;
    const recovery = recoveryFor(error, attempts, policy);
    this.log.warn('relay failed', { escalationId: escalation.id, seq: command.seq, kind: command.kind, attempts, code: error.code, recovery: recovery.action });
    if (recovery.action === 'retry') {
      await this.commands.retryAt(command.id, attempts, new Date(Date.now() + recovery.delayMs), error.message);
      await this.jobs.relay(escalation.id, `retry-${command.seq}-${attempts}`, recovery.delayMs);
      return 'wait';
    }
    if (recovery.action === 'session_gone') {
      if (command.kind === 'end') {
        await this.commands.settle(command.id, 'sent', 'platform session was already gone');
        await this.recorder.record(escalation.id, { events: [serviceEvent('ended', 'user-end', { by: 'user' })] });
      } else {
        await this.commands.settle(command.id, 'failed', `not sent: the platform session had ended (${error.message})`.slice(0, 500));
        await this.lifecycle.sessionEndedUnderRelay(escalation);
      }
      return 'stop';
    }
    await this.commands.settle(command.id, 'failed', recovery.action === 'fail' ? recovery.reason : error.message);
    return 'next';
  }
}
