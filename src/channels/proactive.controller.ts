import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentScope, RequireAuthority } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { DomainError } from '../common/domain-error';
import { ProactiveAcceptedDto, PushConversationDto, SendNotificationDto } from './proactive.dto';
import { ProactiveKind, ProactiveOutcome, ProactiveService } from './proactive.service';

const IDEMPOTENCY = {
  name: 'Idempotency-Key',
  required: false,
  description: "Per domain. Same key + same body: the first request's answer again (`Idempotent-Replayed: true`), nothing sent twice; same key + other body: 409.",
};

const REFUSED =
  '422 when the service already knows the user cannot be reached, with a code the bot can act on: `not_installed` (Teams: no conversation with the user on this gateway, ' +
  'the app is not installed, or was uninstalled), `opted_out` (on the gateway\'s opt-out list), `blocked`, `invalid_recipient` (not an address of the channel), ' +
  '`template_required` (WhatsApp: outside the 24-hour service window, only a template), `proactive_unsupported` for a channel type that cannot write first. ' +
  "Stored in the gateway's quiet hours, it waits until they end (`notBefore`).";

/**
 * The service writes first (channels with the capability `proactive`: Teams, and next SMS and WhatsApp): a
 * notification, or a pushed conversation. Answers once stored; the outcome comes as `message_status` events.
 */
@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrorResponses(409, 422)
@Controller('v1')
export class ProactiveController {
  constructor(private readonly proactive: ProactiveService) {}

  @Post('notifications')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiHeader(IDEMPOTENCY)
  @ApiOperation({
    summary: 'Send a notification: one message to a user who can be reached (on Teams: who installed the app)',
    description: `Stored, then sent in order with the conversation's other messages; a throttled send waits as the platform asks. ${REFUSED}`,
  })
  @ApiResponse({ status: 202, type: ProactiveAcceptedDto })
  notify(@Body() body: SendNotificationDto, @Headers('idempotency-key') key: string | undefined, @CurrentScope() scope: DomainScope, @Res({ passthrough: true }) res: Response) {
    return this.run('notification', body, key, scope, res);
  }

  @Post('conversations')
  @HttpCode(202)
  @RequireAuthority('conversations:start')
  @ApiHeader(IDEMPOTENCY)
  @ApiOperation({
    summary: 'Push a conversation: its opening message, after which the bot owns it and the user\'s answer reaches the bot as an event of it',
    description: `The bot gets \`conversation_started\` (origin \`proactive\`, with \`context\`), then the opening message's \`message_status\` events and the user's answer. 409 while an agent controls the conversation. ${REFUSED}`,
  })
  @ApiResponse({ status: 202, type: ProactiveAcceptedDto })
  push(@Body() body: PushConversationDto, @Headers('idempotency-key') key: string | undefined, @CurrentScope() scope: DomainScope, @Res({ passthrough: true }) res: Response) {
    return this.run('conversation', body, key, scope, res);
  }

  private async run(kind: ProactiveKind, body: PushConversationDto, key: string | undefined, scope: DomainScope, res: Response): Promise<ProactiveAcceptedDto> {
    if (key !== undefined && (key.length === 0 || key.length > 200)) throw DomainError.validation([{ field: 'Idempotency-Key', message: 'must be 1-200 characters' }]);
    const outcome = await this.proactive.send(kind, body, key ?? null, scope);
    res.setHeader('Location', `/v1/conversations/${outcome.conversationId}/messages/${outcome.message.id}`);
    if (!outcome.created) res.setHeader('Idempotent-Replayed', 'true');
    return accepted(outcome, body.gatewayId);
  }
}

function accepted(outcome: ProactiveOutcome, gatewayId: string): ProactiveAcceptedDto {
  const held = outcome.notBefore ?? (outcome.message.status === 'accepted' && outcome.message.nextAttemptAt && outcome.message.attempts === 0 ? outcome.message.nextAttemptAt : null);
  return {
    id: outcome.message.id,
    kind: outcome.kind,
    conversationId: outcome.conversationId,
    gatewayId,
    status: outcome.message.status,
    reason: outcome.message.reason,
    notBefore: held ? held.toISOString() : null,
  };
}
