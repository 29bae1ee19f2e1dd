import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentScope, RequireAuthority } from '../auth/auth.decorators';
import { extractKey } from '../auth/auth.guard';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { DomainError } from '../common/domain-error';
import { eventRowId } from '../common/event-id';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { DomainsService } from '../domains/domains.service';
import { ConversationDto, EventDto, ReplayQuery } from './conversations.dto';
import { ConversationsRepository } from './conversations.repository';
import { EventStreamService } from './event-stream.service';
import { eventDto } from './event-views';

@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1')
export class ConversationsController {
  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly domains: DomainsService,
    private readonly liveEvents: EventStreamService,
  ) {}

  @Get('conversations/:id')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'A conversation: who controls it (bot or agent) and how far delivery got' })
  @ApiOkResponse({ type: ConversationDto })
  async conversation(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<ConversationDto> {
    const c = await this.conversations.get(id, scope);
    return {
      id: c.id,
      domain: (await this.domains.namesOf([c.domainId])).get(c.domainId) ?? '',
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

  @Get('conversations/:id/events')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'Replay the events of a conversation after a sequence number' })
  @ApiOkResponse({ type: [EventDto] })
  async events(@Param('id', ParseUuid) id: string, @Query() query: ReplayQuery, @CurrentScope() scope: DomainScope): Promise<EventDto[]> {
    await this.conversations.get(id, scope);
    return (await this.conversations.events(id, query.after ?? 0, query.limit ?? 200)).map(eventDto);
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
  async stream(@Req() req: Request, @Res() res: Response, @CurrentScope() scope: DomainScope, @Query('domain') domain?: string, @Query('after') after?: string): Promise<void> {
    // Read here rather than as a parameter, which the document would list a second time under its lower-case name.
    const lastEventId = req.header('last-event-id');
    if (domain !== undefined && typeof domain !== 'string') throw DomainError.validation([{ field: 'domain', message: 'must be one domain name' }]);
    const [field, start] = lastEventId !== undefined ? ['Last-Event-ID', lastEventId] : ['after', after];
    const startRow = start === undefined ? undefined : eventRowId(start);
    if (startRow === null) throw DomainError.validation([{ field, message: 'must be an event id (evt_<n>)' }]);
    const afterId = startRow ?? (await this.liveEvents.latestEventId());
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let open = true;
    req.on('close', () => (open = false));
    const sink = { write: (frame: string) => void res.write(frame), get open() { return open; } };
    await this.liveEvents.follow(sink, { key: extractKey(req.headers)!, scope, afterId, domain });
    res.end();
  }
}
