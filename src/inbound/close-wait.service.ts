import { Injectable } from '@nestjs/common';
import { closeGraceMs, EscalationLifecycle } from '../escalations/escalation-lifecycle.service';
import { EscalationContexts } from '../escalations/escalation-contexts.service';
import { EscalationsRepository } from '../escalations/escalations.repository';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { InboundWebhooksRepository } from './inbound-webhooks.repository';

/**
 * A webhook platform's close awaited after a relay found the session over (`EscalationLifecycle.
 * sessionEndedUnderRelay`): when the wait is over, a delivery of the conversation still unprocessed may be that
 * close, and its pass ends the escalation, so the check looks again after it. Without a close, the escalation ends
 * as a lost session.
 */
@Injectable()
export class CloseWait {
  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly lifecycle: EscalationLifecycle,
    private readonly contexts: EscalationContexts,
    private readonly webhooks: InboundWebhooksRepository,
    private readonly jobs: JobDispatcher,
  ) {}

  async due(escalationId: string): Promise<void> {
    const escalation = await this.escalations.get(escalationId);
    if (!escalation.sessionGoneAt) return;
    if (escalation.state === 'active') {
      const { gateway } = await this.contexts.gatewayOf(escalation);
      const due = escalation.sessionGoneAt.getTime() + closeGraceMs(gateway);
      if (due > Date.now()) {
        await this.jobs.sessionGone(escalationId, new Date(due));
        return;
      }
      if (await this.webhooks.hasPending(escalation.gatewayId, escalation.platformConversationId)) {
        await this.jobs.sessionGone(escalationId, new Date(Date.now() + (gateway.definition.inboundReorderWindowMs ?? 0) + 1_000));
        return;
      }
      await this.lifecycle.sessionGone(escalation);
    }
    await this.escalations.clearSessionGone(escalationId);
  }
}
