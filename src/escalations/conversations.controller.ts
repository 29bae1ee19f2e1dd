import { BeforeApplicationShutdown, Controller, Get, Headers, Param, ParseUUIDPipe, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeysService } from '../auth/api-keys.service';
import { CurrentScope, RequireAuthority } from '../auth/auth.decorators';
import { extractKey } from '../auth/auth.guard';
import { DomainScope, sameScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { DomainError } from '../common/domain-error';
import { EscalationQueriesService } from './escalation-queries.service';
import { ConversationDto, DeliveryAttemptDto, EventDto } from './escalations.dto';
import { EscalationsService } from './escalations.service';
import { eventDto } from './escalation-views';

/** The largest sequence number (an `integer` column). */
const MAX_SEQ = 2_147_483_647;

const STREAM_POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1')
export class ConversationsController implements BeforeApplicationShutdown {
  /** Ends open streams so a shutdown does not wait for clients that never disconnect. */
  private readonly shuttingDown = new AbortController();

  constructor(
    private readonly queries: EscalationQueriesService,
    private readonly escalations: EscalationsService,
    private readonly keys: ApiKeysService,
  ) {}

  @Get('conversations/:id')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'A conversation: who controls it (bot or agent) and how far delivery got' })
  @ApiOkResponse({ type: ConversationDto })
  async conversation(@Param('id', ParseUUIDPipe) id: string, @CurrentScope() scope: DomainScope): Promise<ConversationDto> {
    const { conversation: c, domain } = await this.queries.conversation(id, scope);
    return {
      id: c.id,
      domain,
      externalId: c.externalId,
      channel: c.channel,
      control: c.control,
      closedAt: c.closedAt?.toISOString() ?? null,
      lastSeq: c.lastSeq,
      deliveredSeq: c.deliveredSeq,
      deliveryAttempts: c.deliveryAttempts,
      nextDeliveryAt: c.nextDeliveryAt?.toISOString() ?? null,
    };
  }

  @Get('conversations/:id/events/:seq/attempts')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'The delivery attempts of one event to the bot platform, in order (why a callback failed)' })
  @ApiOkResponse({ type: [DeliveryAttemptDto] })
  async attempts(@Param('id', ParseUUIDPipe) id: string, @Param('seq') seq: string, @CurrentScope() scope: DomainScope): Promise<DeliveryAttemptDto[]> {
    const eventSeq = Number(seq);
    if (!/^\d+$/.test(seq) || eventSeq < 1 || eventSeq > MAX_SEQ) throw DomainError.validation([{ field: 'seq', message: `must be an integer from 1 to ${MAX_SEQ}` }]);
    await this.queries.conversation(id, scope);
    return this.queries.deliveryAttempts(id, eventSeq);
  }

  @Get('conversations/:id/events')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'Replay the events of a conversation after a sequence number' })
  @ApiQuery({ name: 'after', required: false, description: `Sequence number already seen (default 0; at most ${MAX_SEQ}).` })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 200.' })
  @ApiOkResponse({ type: [EventDto] })
  async events(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentScope() scope: DomainScope,
    @Query('after') after?: string,
    @Query('limit') limit?: string,
  ): Promise<EventDto[]> {
    const afterSeq = after === undefined ? 0 : Number(after);
    const max = limit === undefined ? 200 : Number(limit);
    // Sequence numbers are PostgreSQL integers: a larger one is refused here, not by the query.
    if (!Number.isInteger(afterSeq) || afterSeq < 0 || afterSeq > MAX_SEQ) throw DomainError.validation([{ field: 'after', message: `must be an integer from 0 to ${MAX_SEQ}` }]);
    if (!Number.isInteger(max) || max < 1 || max > 1000) throw DomainError.validation([{ field: 'limit', message: 'must be an integer from 1 to 1000' }]);
    await this.queries.conversation(id, scope);
    return (await this.escalations.events(id, afterSeq, max)).map(eventDto);
  }

  @Get('events/stream')
  @RequireAuthority('conversations:observe')
  @ApiOkResponse({
    description: 'Server-sent events: per event, `id` (the global event id), `event` (its type) and `data` (the event as in the replay, JSON); a comment line every few seconds keeps the connection open.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiOperation({ summary: "Live events of every conversation of the key's domains as server-sent events; resumes after Last-Event-ID" })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received (global event id).' })
  @ApiQuery({ name: 'domain', required: false })
  @ApiQuery({ name: 'after', required: false, description: 'Start after this global event id (default: only new events).' })
  async stream(
    @Req() req: Request,
    @Res() res: Response,
    @CurrentScope() scope: DomainScope,
    @Headers('last-event-id') lastEventId?: string,
    @Query('domain') domain?: string,
    @Query('after') after?: string,
  ): Promise<void> {
    const start = lastEventId ?? after;
    if (start !== undefined && !/^\d{1,18}$/.test(start)) throw DomainError.validation([{ field: 'Last-Event-ID', message: 'must be an event id' }]);
    let cursor = start ?? (await this.queries.latestEventId());
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    let open = true;
    let lastWrite = Date.now();
    req.on('close', () => (open = false));
    this.shuttingDown.signal.addEventListener('abort', () => (open = false));
    const key = extractKey(req.headers)!;
    while (open) {
      // A key revoked, or given other domains, ends its streams (within the principals' cache period, as for any
      // request): the client reconnects from its Last-Event-ID as the key now is.
      const principal = await this.keys.authenticate(key).catch(() => undefined);
      if (principal === null || (principal && (!principal.authorities.has('conversations:observe') || !sameScope(principal.domainIds, scope)))) break;
      const events = await this.queries.streamAfter(cursor, domain, scope).catch(() => []);
      for (const event of events) {
        res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(eventDto(event))}\n\n`);
        cursor = String(event.id);
        lastWrite = Date.now();
      }
      if (Date.now() - lastWrite > HEARTBEAT_MS) {
        res.write(`: keep-alive\n\n`);
        lastWrite = Date.now();
      }
      if (events.length < 500) await new Promise((resolve) => setTimeout(resolve, STREAM_POLL_MS));
    }
    res.end();
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown.abort();
  }
}
