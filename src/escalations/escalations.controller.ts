import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, CurrentScope, Principal, RequireAuthority } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { DomainError } from '../common/domain-error';
import { attachmentDisposition, fileContentType } from '../common/file-headers';
import { EscalationQueriesService } from './escalation-queries.service';
import {
  AcceptedDto,
  CreateEscalationDto,
  EndDto,
  EndedDto,
  EscalationDetailDto,
  EscalationDto,
  EscalationPageDto,
  ListEscalationsQuery,
  RelayMessageDto,
  StealDto,
  TransferDto,
  TypingDto,
} from './escalations.dto';
import { EscalationsService } from './escalations.service';

const accepted = (c: { id: string; seq: number; status: string }): AcceptedDto => ({ id: c.id, seq: c.seq, status: c.status });

@ApiTags('escalations')
@ApiExtraModels(EndedDto)
@ApiBearerAuth()
@ApiErrorResponses(409)
@Controller('v1/escalations')
export class EscalationsController {
  constructor(
    private readonly escalations: EscalationsService,
    private readonly queries: EscalationQueriesService,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiHeader({ name: 'Idempotency-Key', required: true, description: 'Same key + same body: the same escalation; same key + other body: 409.' })
  @ApiOperation({ summary: 'Hand a conversation over to a human agent through an escalation gateway' })
  @ApiResponse({ status: 202, type: EscalationDto })
  async create(
    @Body() body: CreateEscalationDto,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EscalationDto> {
    if (!key || key.length > 200) throw DomainError.validation([{ field: 'Idempotency-Key', message: 'header is required (1-200 characters)' }]);
    const { escalation, created } = await this.escalations.create(body, key, who.accountName, who.domainIds);
    res.setHeader('Location', `/v1/escalations/${escalation.id}`);
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    return this.queries.get(escalation.id, who.domainIds);
  }

  @Get()
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'List escalations (newest first; filter by state, gateway, domain, creation time)' })
  @ApiOkResponse({ type: EscalationPageDto })
  list(@Query() query: ListEscalationsQuery, @CurrentScope() scope: DomainScope): Promise<EscalationPageDto> {
    return this.queries.list({ ...query, scope, page: query.page ?? 1, pageSize: query.pageSize ?? 20 });
  }

  @Get(':id')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'An escalation with its transcript, transitions, history and relay status' })
  @ApiOkResponse({ type: EscalationDetailDto })
  get(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<EscalationDetailDto> {
    return this.queries.detail(id, scope);
  }

  @Get(':id/attachments/:attachmentId')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'Download a file of the escalation (sent by the agent or the user)' })
  @ApiOkResponse({ description: 'The file, under its own content type.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } })
  async attachment(
    @Param('id', ParseUuid) id: string,
    @Param('attachmentId', ParseUuid) attachmentId: string,
    @CurrentScope() scope: DomainScope,
    @Res() res: Response,
  ): Promise<void> {
    const file = await this.queries.attachment(id, attachmentId, scope);
    // Files come from users and agents: always a download, never a page of this origin (where Swagger UI keeps keys).
    res.setHeader('content-type', fileContentType(file.mimeType));
    res.setHeader('content-disposition', attachmentDisposition(file.name));
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('content-security-policy', "default-src 'none'; sandbox");
    res.send(file.content);
  }

  @Post(':id/messages')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiOperation({ summary: 'Relay a user message to the agent (sent in order; waits until the platform session is ready)' })
  @ApiResponse({ status: 202, type: AcceptedDto })
  async message(@Param('id', ParseUuid) id: string, @Body() body: RelayMessageDto, @CurrentScope() scope: DomainScope): Promise<AcceptedDto> {
    return accepted(await this.escalations.relayMessage(id, body, scope));
  }

  @Post(':id/typing')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiOperation({ summary: "Relay the user's typing state" })
  @ApiResponse({ status: 202, type: AcceptedDto })
  async typing(@Param('id', ParseUuid) id: string, @Body() body: TypingDto, @CurrentScope() scope: DomainScope): Promise<AcceptedDto> {
    return accepted(await this.escalations.typing(id, body.state, scope));
  }

  @Post(':id/end')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiOperation({ summary: 'The user left: close the platform session after the messages already accepted' })
  @ApiAcceptedResponse({ description: 'The end is queued after the messages already accepted; `{status: "ended"}` when the escalation had already ended.', schema: { oneOf: [{ $ref: getSchemaPath(AcceptedDto) }, { $ref: getSchemaPath(EndedDto) }] } })
  async end(@Param('id', ParseUuid) id: string, @Body() body: EndDto, @CurrentScope() scope: DomainScope): Promise<AcceptedDto | EndedDto> {
    const command = await this.escalations.end(id, body.reason, scope);
    return command ? accepted(command) : { status: 'ended' };
  }

  @Post(':id/transfer')
  @HttpCode(202)
  @RequireAuthority('conversations:transfer')
  @ApiOperation({ summary: 'Move the waiting conversation to another queue (where the gateway type can)' })
  @ApiResponse({ status: 202, type: AcceptedDto })
  async transfer(@Param('id', ParseUuid) id: string, @Body() body: TransferDto, @CurrentScope() scope: DomainScope): Promise<AcceptedDto> {
    return accepted(await this.escalations.transfer(id, body.queue, scope));
  }

  @Post(':id/steal')
  @HttpCode(200)
  @RequireAuthority('conversations:steal')
  @ApiOperation({ summary: 'The bot takes the conversation back now: the escalation ends and control returns to the bot' })
  @ApiOkResponse({ type: EscalationDto })
  async steal(@Param('id', ParseUuid) id: string, @Body() body: StealDto, @CurrentScope() scope: DomainScope): Promise<EscalationDto> {
    await this.escalations.steal(id, body.reason, scope);
    return this.queries.get(id, scope);
  }
}
