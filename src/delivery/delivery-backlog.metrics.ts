import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { DeliveryClaimsRepository } from './delivery-claims.repository';

/** Each domain's delivery backlog, read from PostgreSQL at every scrape: how far behind its callback is. */
@Injectable()
export class DeliveryBacklogMetrics implements OnModuleInit {
  private readonly undeliveredEvents: Gauge<'domain'>;
  private readonly oldestUndelivered: Gauge<'domain'>;
  private readonly awaitingRetry: Gauge<'domain'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly claims: DeliveryClaimsRepository,
  ) {
    const perDomain = (name: string, help: string) => new Gauge({ name, help, labelNames: ['domain'], registers: [metrics.registry] });
    this.undeliveredEvents = perDomain('chat_gateway_undelivered_events', 'Events stored and not yet delivered to the bot platform, by domain');
    this.oldestUndelivered = perDomain(
      'chat_gateway_oldest_undelivered_event_age_seconds',
      "Age of the oldest event not yet delivered, by domain (0 when all are): how far behind the domain's callback is",
    );
    this.awaitingRetry = perDomain('chat_gateway_conversations_awaiting_delivery_retry', 'Conversations whose delivery failed and waits for its backoff, by domain');
  }

  onModuleInit(): void {
    this.metrics.onScrape(() => this.read());
  }

  /** Set afresh at every scrape, so that a deleted or renamed domain's series go. PostgreSQL down: the last values stay. */
  private async read(): Promise<void> {
    const rows = await this.claims.backlog();
    for (const gauge of [this.undeliveredEvents, this.oldestUndelivered, this.awaitingRetry]) gauge.reset();
    for (const row of rows) {
      this.undeliveredEvents.set({ domain: row.domain }, row.events);
      this.oldestUndelivered.set({ domain: row.domain }, row.oldest);
      this.awaitingRetry.set({ domain: row.domain }, row.retrying);
    }
  }
}
