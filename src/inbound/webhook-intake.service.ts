import { Injectable } from '@nestjs/common';
import { InboundWebhook, toGatewayError } from '@app/gateway-sdk';
import { ChannelIngestService } from '../channels/channel-ingest.service';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { DomainError } from '../common/domain-error';
import { storableKey, unstorableConversationId } from '../common/storable-text';
import { AppConfig } from '../config/app-config';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { InboundPasses } from './inbound-passes.service';
import { InboundWebhooksRepository } from './inbound-webhooks.repository';
import { ChannelWebhookGateway, WebhookGateways } from './webhook-gateways.service';

/** The answer a platform expects instead of the usual JSON (a verification challenge, TwiML). */
export type PlatformResponse = { status: number; contentType?: string; body: string };

const MAX_TRIGGERS_REMEMBERED = 10_000;

/**
 * The platforms' webhooks as they arrive: verified by the gateway type, stored raw before the answer (a crash after
 * the answer loses nothing), deduplicated by the platform's event id, and handed to a pass (`InboundPasses`) that
 * turns them into events in platform-time order.
 */
@Injectable()
export class WebhookIntakeService {
  private readonly log: ComponentLogger;
  /** Per gateway, the time slice whose pass this process last added. */
  private readonly triggered = new Map<string, number>();
  /** Gateways whose pass this process is about to trigger. */
  private readonly triggering = new Set<string>();

  constructor(
    private readonly webhookGateways: WebhookGateways,
    private readonly webhooks: InboundWebhooksRepository,
    private readonly passes: InboundPasses,
    private readonly jobs: JobDispatcher,
    private readonly channels: ChannelIngestService,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.log = logger.child('inbound-webhooks');
  }

  /** `rawBody` as the intake route read it, already bounded to 1 MiB there. */
  async receive(
    gatewayId: string,
    headers: Record<string, string | undefined>,
    rawBody: Buffer,
    at: { method: 'GET' | 'POST'; path: string } = { method: 'POST', path: `/v1/webhooks/${gatewayId}` },
  ): Promise<{ duplicate: boolean; response?: PlatformResponse }> {
    const intake = await this.webhookGateways.get(gatewayId);
    if (!intake) {
      const channel = await this.webhookGateways.channel(gatewayId);
      if (!channel) throw DomainError.notFound('Webhook endpoint', gatewayId);
      return this.receiveChannel(channel, { headers, rawBody, receivedAt: new Date(), method: at.method, url: `${this.config.publicBaseUrl}${at.path}` });
    }
    if (at.method !== 'POST') throw DomainError.validation([{ field: 'method', message: 'an escalation platform delivers webhooks by POST' }]);
    if (rawBody.length === 0) throw DomainError.validation([{ field: 'body', message: 'is empty' }]);
    const request: InboundWebhook = { headers, rawBody, receivedAt: new Date() };
    const verified = await this.verify(gatewayId, () => intake.gateway.verifyWebhook!(intake.context, request));
    // About no conversation (an endpoint verification, which may come unsigned): nothing to process, so nothing is
    // stored, and a flood of them costs no writes.
    if (verified.platformConversationId === null) return { duplicate: false };
    // Refused at the door (a 400 the platform does not retry): stored, it would fail its statement and be retried for ever.
    const unfit = unstorableConversationId(verified.platformConversationId);
    if (unfit) throw DomainError.validation([{ field: 'body', message: unfit }]);
    // The only write before the answer (grouped with concurrent deliveries into one statement).
    const isNew = await this.webhooks.store({
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
   * A channel's webhook: verified, turned into user activities and stored (once each) before the answer, since a
   * channel delivery is one user's activity and has no order to restore across deliveries. A repeated delivery
   * stores nothing and is answered the same.
   */
  private async receiveChannel(intake: ChannelWebhookGateway, request: InboundWebhook): Promise<{ duplicate: boolean; response?: PlatformResponse }> {
    const gatewayId = intake.entity.id;
    await this.verify(gatewayId, () => intake.gateway.verifyWebhook!(intake.context, request));
    let handled;
    try {
      handled = await intake.gateway.handleWebhook!(intake.context, request);
    } catch (error) {
      const gatewayError = toGatewayError(error);
      this.log.warn('channel webhook not understood', { gatewayId, code: gatewayError.code, error: gatewayError.message });
      throw DomainError.validation([{ field: 'body', message: gatewayError.message }]);
    }
    const received = handled.activities.length ? await this.channels.receive(gatewayId, handled.activities) : [];
    return { duplicate: received.length > 0 && received.every((r) => r.duplicate), ...(handled.response ? { response: handled.response } : {}) };
  }

  private async verify<T>(gatewayId: string, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      const gatewayError = toGatewayError(error);
      this.log.warn('webhook refused', { gatewayId, code: gatewayError.code, error: gatewayError.message });
      if (gatewayError.code === 'auth_failed') throw new DomainError('unauthenticated', `Webhook signature refused: ${gatewayError.message}`);
      if (gatewayError.code === 'invalid_request') throw DomainError.validation([{ field: 'body', message: gatewayError.message }]);
      throw new DomainError('gateway_unavailable', `Webhook could not be verified now: ${gatewayError.message}`);
    }
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
}
