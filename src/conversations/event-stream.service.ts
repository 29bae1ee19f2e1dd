import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ApiKeysService } from '../auth/api-keys.service';
import { DomainScope, sameScope } from '../auth/domain-scope';
import { ConversationsRepository } from './conversations.repository';
import { eventDto } from './event-views';

const POLL_MS = 200;
const BATCH = 500;
const HEARTBEAT_MS = 15_000;

/** Where a stream writes: server-sent event frames, and whether the client is still there. */
export interface StreamSink {
  write(frame: string): void;
  readonly open: boolean;
}

/**
 * The live stream of events as server-sent events: after a start id, every event of the key's domains in id order
 * (events of transactions still running wait, so an event never follows a larger id), with a comment line now and
 * then to keep proxies from closing an idle connection.
 */
@Injectable()
export class EventStreamService implements BeforeApplicationShutdown {
  /** Ends open streams so a shutdown does not wait for clients that never disconnect. */
  private readonly shuttingDown = new AbortController();

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly keys: ApiKeysService,
  ) {}

  /** Where a stream without a start begins: after the newest event. */
  latestEventId(): Promise<string> {
    return this.conversations.latestEventId();
  }

  /** Streams until the client leaves, the service stops, or the key no longer sees what it saw (revoked, rescoped). */
  async follow(sink: StreamSink, options: { key: string; scope: DomainScope; afterId: string; domain?: string }): Promise<void> {
    let cursor = options.afterId;
    let lastWrite = Date.now();
    sink.write(`retry: 2000\n\n`);
    while (sink.open && !this.shuttingDown.signal.aborted) {
      // A key revoked, or given other domains, ends its streams (within the principals' cache period, as for any
      // request): the client reconnects from its Last-Event-ID as the key now is.
      const principal = await this.keys.authenticate(options.key).catch(() => undefined);
      if (principal === null || (principal && (!principal.authorities.has('conversations:observe') || !sameScope(principal.domainIds, options.scope)))) return;
      const events = await this.conversations.eventsAfterId(cursor, options.domain, options.scope, BATCH).catch(() => []);
      for (const event of events) {
        const dto = eventDto(event);
        sink.write(`id: ${dto.id}\nevent: ${event.type}\ndata: ${JSON.stringify(dto)}\n\n`);
        cursor = String(event.id);
        lastWrite = Date.now();
      }
      if (Date.now() - lastWrite > HEARTBEAT_MS) {
        sink.write(`: keep-alive\n\n`);
        lastWrite = Date.now();
      }
      if (events.length < BATCH) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown.abort();
  }
}
