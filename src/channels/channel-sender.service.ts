import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { backoffDelay, ChannelGateway, GatewayError, OutboundActivity, toGatewayError } from '@app/gateway-sdk';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { OutboundMessageEntity, OutboundStatus } from '../database/entities';
import { EscalationPolicyResolver } from '../escalations/escalation-policy';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { HeldLease, keepLease } from '../queues/lease';
import { RedisLock } from '../queues/redis-lock';
import { ChannelContexts } from './channel-contexts.service';
import { ChannelConversationsRepository } from './channel-conversations.repository';
import { ChannelEventStore } from './channel-event-store';
import { advances, marksUnreachable, statusEvent } from './channel-events';

const SEND_LOCK_TTL_MS = 10_000;
/** How long a sender's lease lasts unless renewed; a sender that died frees the conversation after this. */
export const SEND_LEASE_MS = 10_000;
const MAX_RETRY_DELAY_MS = 60_000;
/** How old a message the platform keeps throttling may get before it fails (`retries_exhausted`). */
const RATE_LIMITED_GIVE_UP_MS = 3_600_000;
const STATUS_ORDER: OutboundStatus[] = ['delivered', 'read', 'failed'];

/** Whether a channel type reports what became of a sent message (so a receipt may come before the send's answer). */
const takesReceipts = (gateway: ChannelGateway) => gateway.definition.capabilities.some((c) => c === 'delivery-receipts' || c === 'read-receipts');
/** How old the conversation's reference may be when a message is sent in a drain that began earlier. */
const REFERENCE_READ_MS = 1_000;

/**
 * Sends a channel conversation's outbound messages, strictly in order, one sender at a time: the Redis lock keeps
 * other senders waiting cheaply (as the relay drainer does), the send lease in PostgreSQL makes it so when Redis lost
 * the lock. Each attempt is counted before the platform is called, so an attempt cut short (the worker killed) is
 * seen by the next one, which says so. `transient` and `rate_limited` are retried per the gateway's API Retry
 * settings (the messages behind waiting); once those attempts are used up, or on any other error, the message fails
 * and the next one goes. `unreachable` fails it at once with the channel's reason.
 */
@Injectable()
export class ChannelSender {
  private readonly log: ComponentLogger;

  constructor(
    private readonly channels: ChannelConversationsRepository,
    private readonly events: ChannelEventStore,
    private readonly contexts: ChannelContexts,
    private readonly policies: EscalationPolicyResolver,
    private readonly jobs: JobDispatcher,
    private readonly lock: RedisLock,
    logger: AppLogger,
  ) {
    this.log = logger.child('channel-send');
  }

  async send(conversationId: string): Promise<void> {
    await this.lock.coalesce(
      `channel-send:${conversationId}`,
      SEND_LOCK_TTL_MS,
      () => this.drainLeased(conversationId),
      (delayMs) => this.jobs.channelSend(conversationId, `check-${Date.now()}`, delayMs),
    );
  }

  /** Reconcile: a send job for each conversation with messages still to send (after a restart, a lost job). */
  async reconcile(token: string): Promise<number> {
    const ids = await this.channels.conversationsWithPending();
    for (const id of ids) await this.jobs.channelSend(id, token);
    return ids.length;
  }

  private async drainLeased(conversationId: string): Promise<void> {
    const token = randomUUID();
    if (!(await this.channels.takeSendLease(conversationId, token, SEND_LEASE_MS))) {
      // Its holder may have died: look again once the lease would have run out (one job per lease period).
      await this.jobs.channelSend(conversationId, `lease-${Math.floor(Date.now() / SEND_LEASE_MS)}`, SEND_LEASE_MS + 1_000);
      return;
    }
    const lease = keepLease(
      { renew: () => this.channels.renewSendLease(conversationId, token, SEND_LEASE_MS), release: () => this.channels.releaseSendLease(conversationId, token) },
      SEND_LEASE_MS,
    );
    try {
      await this.drain(conversationId, lease);
    } finally {
      await lease.release();
    }
  }

  private async drain(conversationId: string, lease: HeldLease): Promise<void> {
    const conversation = await this.channels.get(conversationId);
    if (!conversation) return;
    const { gateway, entity } = await this.contexts.gatewayOf(conversation.gatewayId);
    let current = conversation;
    let readAt = Date.now();
    for (;;) {
      // A lease that could not be renewed may be another sender's by now: it sends what is left.
      if (lease.lost) return;
      const message = await this.channels.nextPending(conversationId);
      if (!message) return;
      if (message.nextAttemptAt && message.nextAttemptAt.getTime() > Date.now()) {
        await this.jobs.channelSend(conversationId, `retry-${message.seq}-${message.attempts}`, message.nextAttemptAt.getTime() - Date.now());
        return;
      }
      let detail: string | null = null;
      if (message.attemptStartedAt) {
        // The previous attempt began and never settled: its worker stopped while the platform was called, so the
        // user may have received it. It is counted; this attempt says so on the message.
        detail = `attempt ${message.attempts} was interrupted before its outcome was known (the platform may have received it)`;
        this.log.warn('outbound attempt interrupted earlier; sending again', { conversationId, messageId: message.id, seq: message.seq, attempts: message.attempts });
      }
      await this.channels.startAttempt(message.id);
      const attempt = message.attempts + 1;
      try {
        // A user activity may have moved the reference (a Teams service URL): read again when this drain has run a while.
        if (Date.now() - readAt > REFERENCE_READ_MS) {
          current = (await this.channels.get(conversationId)) ?? current;
          readAt = Date.now();
        }
        const sent = await gateway.send(this.contexts.context(gateway, entity, current, message.id), { ...(message.activity as unknown as OutboundActivity) });
        await this.settle(message, 'sent', { platformMessageId: sent.platformMessageId, detail, receipts: takesReceipts(gateway) });
      } catch (error) {
        await this.onFailure(conversationId, message, attempt, toGatewayError(error), entity.id);
        if ((await this.channels.nextPending(conversationId))?.id === message.id) return;
      }
    }
  }

  private async onFailure(conversationId: string, message: OutboundMessageEntity, attempt: number, error: GatewayError, gatewayId: string): Promise<void> {
    this.log.warn('outbound send failed', { conversationId, messageId: message.id, seq: message.seq, attempt, code: error.code, error: error.message });
    if (error.code === 'unreachable') {
      await this.settle(message, 'failed', { reason: error.unreachableReason ?? 'unknown', detail: error.message, unreachable: true });
      return;
    }
    if (error.retryable) {
      const { apiRetry } = await this.policies.forGateway(gatewayId);
      // A throttled send waits as the platform asks and goes again, its followers behind it: throttling is the
      // platform pacing a burst (a proactive fan-out of thousands in one tenant waits minutes), not a failure, so it
      // is bounded by the message's age instead of the attempts.
      const throttled = error.code === 'rate_limited' && Date.now() - message.createdAt.getTime() < RATE_LIMITED_GIVE_UP_MS;
      if (throttled || attempt < Math.max(1, apiRetry.maxAttempts)) {
        const delayMs = Math.min(
          // Never before the platform said, and spread over a fifth more: a fan-out's throttled sends must not all
          // come back in the same instant and be throttled again together.
          error.code === 'rate_limited' ? Math.round((error.retryAfterMs ?? apiRetry.initialDelayMs) * (1 + Math.random() / 5)) : backoffDelay(attempt, apiRetry.initialDelayMs, apiRetry.multiplier),
          MAX_RETRY_DELAY_MS,
        );
        await this.channels.retryAt(message.id, new Date(Date.now() + delayMs), `${error.code}: ${error.message}`.slice(0, 500));
        await this.jobs.channelSend(conversationId, `retry-${message.seq}-${attempt}`, delayMs);
        return;
      }
      await this.settle(message, 'failed', { reason: 'retries_exhausted', detail: `${error.code}: ${error.message}`.slice(0, 500) });
      return;
    }
    await this.settle(message, 'failed', { reason: 'rejected', detail: `${error.code}: ${error.message}`.slice(0, 500) });
  }

  /** Records the outcome, with its status event for the bot (typing has none), in one transaction. */
  private async settle(
    message: OutboundMessageEntity,
    status: 'sent' | 'failed',
    outcome: { platformMessageId?: string | null; reason?: string; detail?: string | null; unreachable?: boolean; receipts?: boolean },
  ): Promise<void> {
    const stored = await this.channels.transaction(async (em) => {
      const locked = await this.events.lock(em, message.conversationId);
      const moved =
        status === 'sent'
          ? await this.channels.markSent(em, message.id, outcome.platformMessageId ?? null, outcome.detail ?? null)
          : await this.channels.markFailed(em, message.id, outcome.reason ?? 'unknown', outcome.detail ?? null);
      // The user cannot be reached: the next proactive message to them is refused up front, until they write again
      // or the channel says they are back (an install).
      if (moved && outcome.unreachable && marksUnreachable(outcome.reason)) await this.channels.setReachability(em, message.conversationId, outcome.reason);
      if (!moved || message.kind === 'typing') return null;
      const events = [statusEvent(message, status, { reason: outcome.reason, detail: outcome.detail })];
      // Receipts that arrived before this answer are applied now, in the order statuses go.
      if (outcome.receipts && outcome.platformMessageId) {
        let current: OutboundStatus = 'sent';
        const early = await this.channels.takeEarlyReceipts(em, message.gatewayId, outcome.platformMessageId);
        for (const receipt of early.sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status))) {
          if (!advances(current, receipt.status)) continue;
          current = receipt.status;
          await this.channels.setStatus(em, message.id, receipt.status, receipt.reason, receipt.detail);
          if (receipt.status === 'failed' && marksUnreachable(receipt.reason)) await this.channels.setReachability(em, message.conversationId, receipt.reason);
          events.push(statusEvent(message, receipt.status as Exclude<OutboundStatus, 'accepted'>, { reason: receipt.reason ?? undefined, detail: receipt.detail }));
        }
      }
      // The message moved from `accepted` in this transaction, so its status events cannot be stored yet.
      return this.events.store(em, locked, events, { fresh: true });
    });
    if (stored) await this.events.afterCommit([stored]);
  }
}
