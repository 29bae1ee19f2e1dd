import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentScope, RequireAuthority } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { DomainError } from '../common/domain-error';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { MAX_SEQ } from '../conversations/conversations.dto';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { DeliveryClaimsRepository } from './delivery-claims.repository';
import { DeliveryAttemptDto } from './delivery.dto';

@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1')
export class DeliveryController {
  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly claims: DeliveryClaimsRepository,
  ) {}

  @Get('conversations/:id/events/:seq/attempts')
  @RequireAuthority('conversations:observe')
  // The id the operation had when the conversations controller served it, kept for clients generated from the document.
  @ApiOperation({ operationId: 'ConversationsController_attempts', summary: 'The delivery attempts of one event to the bot platform, in order (why a callback failed)' })
  @ApiOkResponse({ type: [DeliveryAttemptDto] })
  async attempts(@Param('id', ParseUuid) id: string, @Param('seq') seq: string, @CurrentScope() scope: DomainScope): Promise<DeliveryAttemptDto[]> {
    const eventSeq = Number(seq);
    if (!/^\d+$/.test(seq) || eventSeq < 1 || eventSeq > MAX_SEQ) throw DomainError.validation([{ field: 'seq', message: `must be an integer from 1 to ${MAX_SEQ}` }]);
    await this.conversations.get(id, scope);
    const attempts = await this.claims.attempts(id, eventSeq);
    if (!attempts) throw DomainError.notFound('Event', `${seq} of conversation ${id}`);
    return attempts.map((row) => ({ attempt: row.attempt, at: row.at.toISOString(), statusCode: row.status_code, error: row.error, durationMs: row.duration_ms }));
  }
}
