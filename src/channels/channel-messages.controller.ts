import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentScope, RequireAuthority } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { DomainError } from '../common/domain-error';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { OutboundMessageEntity } from '../database/entities';
import { ChannelOutbox } from './channel-outbox.service';
import { OutboundMessageDto, SendMessageDto, SendTypingDto } from './channel-messages.dto';

function messageDto(m: OutboundMessageEntity): OutboundMessageDto {
  return {
    id: m.id,
    conversationId: m.conversationId,
    seq: m.seq,
    kind: m.kind,
    author: m.author,
    authorName: m.authorName,
    status: m.status,
    reason: m.reason,
    detail: m.detail,
    attempts: m.attempts,
    platformMessageId: m.platformMessageId,
    createdAt: m.createdAt.toISOString(),
    sentAt: m.sentAt?.toISOString() ?? null,
    updatedAt: m.updatedAt.toISOString(),
  };
}

/** The bot's side of a channel conversation: what it says to the user, and what became of it. */
@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1/conversations')
export class ChannelMessagesController {
  constructor(private readonly outbox: ChannelOutbox) {}

  @Post(':id/messages')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key + same body: the first message again; same key + other body: 409.' })
  @ApiOperation({ summary: "Send a message to a channel conversation's user: stored, then sent in order; 409 while an agent controls it" })
  @ApiResponse({ status: 202, type: OutboundMessageDto })
  async send(
    @Param('id', ParseUuid) id: string,
    @Body() body: SendMessageDto,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentScope() scope: DomainScope,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OutboundMessageDto> {
    if (key !== undefined && (key.length === 0 || key.length > 200)) throw DomainError.validation([{ field: 'Idempotency-Key', message: 'must be 1-200 characters' }]);
    const { message, created } = await this.outbox.message(id, { ...body, author: body.author ?? 'bot' }, key ?? null, scope);
    res.setHeader('Location', `/v1/conversations/${id}/messages/${message.id}`);
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    return messageDto(message);
  }

  @Post(':id/typing')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiOperation({ summary: "Show the user that the bot (or the agent it relays) is typing, where the channel shows it" })
  @ApiResponse({ status: 202, type: OutboundMessageDto })
  async typing(@Param('id', ParseUuid) id: string, @Body() body: SendTypingDto, @CurrentScope() scope: DomainScope): Promise<OutboundMessageDto> {
    const { message } = await this.outbox.typing(id, body.author ?? 'bot', scope, body.authorName);
    return messageDto(message);
  }

  @Get(':id/messages/:messageId')
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: 'An outbound message and its status (accepted, sent, delivered, read, failed with a reason)' })
  @ApiOkResponse({ type: OutboundMessageDto })
  async status(@Param('id', ParseUuid) id: string, @Param('messageId', ParseUuid) messageId: string, @CurrentScope() scope: DomainScope): Promise<OutboundMessageDto> {
    return messageDto(await this.outbox.status(id, messageId, scope));
  }
}
