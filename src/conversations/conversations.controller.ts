import { BeforeApplicationShutdown, Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeysService } from '../auth/api-keys.service';
import { CurrentScope, RequireAuthority } from '../auth/auth.decorators';
import { extractKey } from '../auth/auth.guard';
import { DomainScope, sameScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { DomainError } from '../common/domain-error';
import { eventRowId } from '../common/event-id';
import { EscalationQueriesService } from '../escalations/escalation-queries.service';
import { ConversationDto, DeliveryAttemptDto, EventDto, MAX_SEQ, ReplayQuery } from '../escalations/escalations.dto';
import { EscalationsService } from '../escalations/escalations.service';
import { eventDto } from '../escalations/escalation-views';

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
  async conversation(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<ConversationDto> {
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
  async attempts(@Param('id', ParseUuid) id: string, @Param('seq') seq: string, @CurrentScope() scope: DomainScope): Promise<DeliveryAttemptDto[]> {
    const eventSeq = Number(seq);
    if (!/^\d+$/.test(seq) || eventSeq < 1 || eventSeq > MAX_SEQ) throw DomainError.validation([{ field: 'seq', message: `must be an integer from 1 to ${MAX_SEQ}` }]);
    await this.queries.conversation(id, scope);
    return this.queries.deliveryAttempts(id, eventSeq);
  }

  @Get('conversations/:id/events')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'Replay the events of a conversation after a sequence number' })
  @ApiOkResponse({ type: [EventDto] })
  async events(@Param('id', ParseUuid) id: string, @Query() query: ReplayQuery, @CurrentScope() scope: DomainScope): Promise<EventDto[]> {
    await this.queries.conversation(id, scope);
    return (await this.escalations.events(id, query.after ?? 0, query.limit ?? 200)).map(eventDto);
  }

  @Get('events/stream')
  @RequireAuthority('conversations:observe')
  @ApiOkResponse({
    description: 'Server-sent events: per event, `id` (the event id, `evt_<n>`, as in deliveries and the replay), `event` (its type) and `data` (the event as in the replay, JSON); a comment line every few seconds keeps the connection open.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiOperation({ summary: "Live events of every conversation of the key's domains as server-sent events; resumes after Last-Event-ID" })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received (`evt_<n>`, from the stream or a delivery).' })
  @ApiQuery({ name: 'domain', required: false })
  @ApiQuery({ name: 'after', required: false, description: 'Start after this event id (`evt_<n>`; default: only new events). Last-Event-ID wins when both are sent.' })
  async stream(
    @Req() req: Request,
    @Res() res: Response,
    @CurrentScope() scope: DomainScope,
    @Query('domain') domain?: string,
    @Query('after') after?: string,
  ): Promise<void> {
    // Read here rather than as a parameter, which the document would list a second time under its lower-case name.
    const lastEventId = req.header('last-event-id');
    if (domain !== undefined && typeof domain !== 'string') throw DomainError.validation([{ field: 'domain', message: 'must be one domain name' }]);
    const [field, start] = lastEventId !== undefined ? ['Last-Event-ID', lastEventId] : ['after', after];
    const startRow = start === undefined ? undefined : eventRowId(start);
    if (startRow === null) throw DomainError.validation([{ field, message: 'must be an event id (evt_<n>)' }]);
    let cursor = startRow ?? (await this.queries.latestEventId());
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
        const dto = eventDto(event);
        res.write(`id: ${dto.id}\nevent: ${event.type}\ndata: ${JSON.stringify(dto)}\n\n`);
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
