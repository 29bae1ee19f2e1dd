import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { toWireEvent } from './eight-by-eight-event.mapper';
import { EightByEightSigningKeys } from './eight-by-eight-signature';
import { EightByEightEventFormat, SimulatorEvent, WebhookRecord } from './eight-by-eight.model';

/** One POST of a delivery. */
export interface DeliveryAttempt {
  retry: number;
  transmissionTime: number;
  status?: number;
  error?: string;
  durationMs: number;
}

/** One event to one webhook, with every attempt made. */
export interface WebhookDelivery {
  seq: number;
  eventId: string;
  eventType: string;
  conversationId?: string;
  webhookId?: string;
  uri?: string;
  format: EightByEightEventFormat;
  /** The exact JSON sent (the signature's checksum covers these bytes). */
  body: string;
  attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'failed' | 'dropped' | 'cancelled';
  /** True for the second copy that the duplicate-delivery fault sends. */
  duplicate: boolean;
  /** True when the out-of-order fault held this event back. */
  held: boolean;
  enqueuedAt: string;
}

/** Where an event goes and in which catalogue. */
export interface WebhookTarget {
  webhook: WebhookRecord;
  format: EightByEightEventFormat;
}

/** Delivery settings; `retryDelaysMs` and `orderedDelivery` may change at run time through the control API. */
export interface WebhookSenderSettings {
  tenantId: string;
  customerId: string;
  /** Delay before retry n+1; its length is the number of retries. */
  retryDelaysMs: number[];
  timeoutMs: number;
  orderedDelivery: boolean;
  /** How long the out-of-order fault waits for a next event before sending the held one anyway. */
  holdTimeoutMs: number;
  maxLogEntries: number;
}

interface PendingDelivery extends WebhookDelivery {
  duplicateAfter?: boolean;
}

/**
 * Sends signed webhook events. Deliveries of one conversation to one webhook form a lane that is worked in order
 * (a failing event holds the later ones back until its retries are spent), which is the ordering a gateway may rely
 * on; `orderedDelivery: false` sends every event independently.
 */
export class EightByEightWebhookSender {
  private seq = 0;
  private readonly log: WebhookDelivery[] = [];
  private readonly lanes = new Map<string, PendingDelivery[]>();
  private readonly held = new Map<string, { delivery: PendingDelivery; timer: NodeJS.Timeout }>();
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly inFlight = new Set<AbortController>();
  private running = 0;
  private duplicatesLeft = 0;
  private reordersLeft = 0;
  private stopped = false;

  constructor(
    private readonly keys: EightByEightSigningKeys,
    readonly settings: WebhookSenderSettings,
  ) {}

  /** Queues an event for each target; the same event id goes to every target. */
  enqueue(conversationId: string, event: SimulatorEvent, targets: WebhookTarget[]): void {
    const eventId = randomUUID();
    if (targets.length === 0) {
      this.record({ eventId, eventType: event.envelope.eventType, conversationId, format: 'chat-gateway-v1', body: JSON.stringify(event.envelope), outcome: 'dropped' });
      return;
    }
    for (const target of targets) {
      const wire = toWireEvent(event, target.format);
      if (!wire) continue;
      const delivery = this.record({
        eventId,
        eventType: String(wire.eventType),
        conversationId,
        webhookId: target.webhook.id,
        uri: target.webhook.uri,
        format: target.format,
        body: JSON.stringify(wire),
        outcome: 'pending',
      });
      this.route(`${target.webhook.id}\u0000${conversationId}`, delivery);
    }
  }

  /** One signed POST without retries (WEB_HOOK_VERIFY); resolves with the receiver's status. */
  async sendOnce(uri: string, body: Record<string, unknown>, format: EightByEightEventFormat, webhookId?: string): Promise<DeliveryAttempt> {
    const delivery = this.record({ eventId: randomUUID(), eventType: String(body.eventType), webhookId, uri, format, body: JSON.stringify(body), outcome: 'pending' });
    const ok = await this.attempt(delivery, 0);
    delivery.outcome = ok ? 'delivered' : 'failed';
    return delivery.attempts[0];
  }

  /** The next `count` events are each delivered twice with the same event id. */
  duplicateNext(count: number): void {
    this.duplicatesLeft += count;
  }

  /** The next `count` events are each held back and sent after the following event of the same conversation. */
  reorderNext(count: number): void {
    this.reordersLeft += count;
  }

  pendingFaults(): { duplicate: number; outOfOrder: number } {
    return { duplicate: this.duplicatesLeft, outOfOrder: this.reordersLeft };
  }

  clearFaults(): void {
    this.duplicatesLeft = 0;
    this.reordersLeft = 0;
  }

  deliveries(filter: { conversationId?: string; eventType?: string } = {}): WebhookDelivery[] {
    return this.log.filter(
      (delivery) =>
        (filter.conversationId === undefined || delivery.conversationId === filter.conversationId) &&
        (filter.eventType === undefined || delivery.eventType === filter.eventType),
    );
  }

  /** True when nothing is queued, held, waiting for a retry or in flight. */
  get idle(): boolean {
    return this.running === 0 && this.held.size === 0;
  }

  /** Forgets the log and any pending fault; deliveries under way continue. */
  resetLog(): void {
    this.log.length = 0;
    this.clearFaults();
  }

  stop(): void {
    this.stopped = true;
    for (const { delivery, timer } of this.held.values()) {
      clearTimeout(timer);
      delivery.outcome = 'cancelled';
    }
    this.held.clear();
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    for (const controller of this.inFlight) controller.abort();
  }

  private record(fields: Pick<WebhookDelivery, 'eventId' | 'eventType' | 'format' | 'body' | 'outcome'> & Partial<WebhookDelivery>): PendingDelivery {
    const delivery: PendingDelivery = { attempts: [], duplicate: false, held: false, enqueuedAt: new Date().toISOString(), ...fields, seq: ++this.seq };
    this.log.push(delivery);
    if (this.log.length > this.settings.maxLogEntries) this.log.splice(0, this.log.length - this.settings.maxLogEntries);
    return delivery;
  }

  private route(lane: string, delivery: PendingDelivery): void {
    const waiting = this.held.get(lane);
    if (waiting) {
      // The held event goes out right after the one that overtook it.
      clearTimeout(waiting.timer);
      this.held.delete(lane);
      this.push(lane, delivery);
      this.push(lane, waiting.delivery);
      return;
    }
    if (this.reordersLeft > 0) {
      this.reordersLeft--;
      delivery.held = true;
      const timer = setTimeout(() => {
        this.held.delete(lane);
        this.push(lane, delivery);
      }, this.settings.holdTimeoutMs);
      this.held.set(lane, { delivery, timer });
      return;
    }
    this.push(lane, delivery);
  }

  private push(lane: string, delivery: PendingDelivery): void {
    if (this.duplicatesLeft > 0 && !delivery.duplicate) {
      this.duplicatesLeft--;
      delivery.duplicateAfter = true;
    }
    if (!this.settings.orderedDelivery) {
      void this.work([delivery]);
      return;
    }
    const queue = this.lanes.get(lane);
    if (queue) {
      queue.push(delivery);
      return;
    }
    const fresh = [delivery];
    this.lanes.set(lane, fresh);
    void this.work(fresh).finally(() => this.lanes.delete(lane));
  }

  private async work(queue: PendingDelivery[]): Promise<void> {
    this.running++;
    try {
      while (queue.length > 0) {
        const delivery = queue.shift()!;
        if (this.stopped) {
          delivery.outcome = 'cancelled';
          continue;
        }
        await this.deliver(delivery);
        if (delivery.duplicateAfter) {
          // Same event id and body, sent again as a platform that lost the acknowledgement would.
          queue.unshift(this.record({ ...delivery, attempts: [], outcome: 'pending', duplicate: true, duplicateAfter: false } as PendingDelivery));
        }
      }
    } finally {
      this.running--;
    }
  }

  private async deliver(delivery: PendingDelivery): Promise<void> {
    for (let retry = 0; ; retry++) {
      if (await this.attempt(delivery, retry)) {
        delivery.outcome = 'delivered';
        return;
      }
      const delay = this.settings.retryDelaysMs[retry];
      if (delay === undefined || this.stopped) {
        delivery.outcome = this.stopped ? 'cancelled' : 'failed';
        return;
      }
      await this.sleep(delay);
    }
  }

  private async attempt(delivery: WebhookDelivery, retry: number): Promise<boolean> {
    const body = Buffer.from(delivery.body);
    // A new transmission time on every attempt (and so a new signature); the event id never changes.
    const transmissionTime = Date.now();
    const fields = { tenantId: this.settings.tenantId, customerId: this.settings.customerId, eventId: delivery.eventId, retry, transmissionTime };
    const headers = {
      'content-type': 'application/json',
      'user-agent': '8x8-chat-gateway-simulator',
      'x-8x8-tenant-id': fields.tenantId,
      'x-8x8-customer-id': fields.customerId,
      'x-8x8-event-id': fields.eventId,
      'x-8x8-transmission-time': String(transmissionTime),
      'x-8x8-retry': String(retry),
      'x-8x8-signature': this.keys.sign(body, fields),
    };
    const started = Date.now();
    const result = await this.post(delivery.uri!, body, headers);
    delivery.attempts.push({ retry, transmissionTime, ...result, durationMs: Date.now() - started });
    return result.status !== undefined && result.status >= 200 && result.status < 300;
  }

  private post(uri: string, body: Buffer, headers: Record<string, string>): Promise<{ status?: number; error?: string }> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        resolve({ error: `invalid uri ${uri}` });
        return;
      }
      const controller = new AbortController();
      this.inFlight.add(controller);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.settings.timeoutMs);
      const finish = (result: { status?: number; error?: string }) => {
        clearTimeout(timer);
        this.inFlight.delete(controller);
        resolve(result);
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      // agent: false so no keep-alive socket outlives the simulator or holds a receiver's server open.
      const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false, signal: controller.signal }, (res) => {
        res.resume();
        finish({ status: res.statusCode });
      });
      req.on('error', (error) => finish({ error: timedOut ? `timeout after ${this.settings.timeoutMs} ms` : error.message }));
      req.end(body);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
        wake: () => resolve(),
      };
      this.sleepers.add(sleeper);
    });
  }
}
