import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInteger } from '../common/query.dto';

/** The largest sequence number (an `integer` column). */
export const MAX_SEQ = 2_147_483_647;

export class ConversationDto {
  @ApiProperty() id: string;
  @ApiProperty() domain: string;
  @ApiProperty() externalId: string;
  @ApiProperty() channel: string;
  @ApiProperty({ enum: ['bot', 'agent'] }) control: string;
  @ApiPropertyOptional({ nullable: true, type: String }) closedAt: string | null;
  @ApiProperty() lastSeq: number;
  @ApiProperty() deliveredSeq: number;
  @ApiProperty({ description: 'Failed attempts at the next event to deliver (0 when the last attempt succeeded or none was made).' })
  deliveryAttempts: number;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'When the next event is tried again after a failed attempt (exponential backoff); null when delivery is not waiting.',
  })
  nextDeliveryAt: string | null;
}

export class EventDto {
  @ApiProperty({
    example: 'evt_1042',
    description: "The event's id, the same everywhere: a delivery's body `id` and `webhook-id`, replay, the transcript and the stream's SSE `id` (send it back as `Last-Event-ID`).",
  })
  id: string;
  @ApiProperty() conversationId: string;
  @ApiProperty({ description: 'Per-conversation sequence number, from 1, without gaps (the events of escalations deleted by the retention, ESCALATION_RETENTION_DAYS, are gone).' }) seq: number;
  @ApiPropertyOptional({ nullable: true, type: String }) escalationId: string | null;
  @ApiProperty({
    enum: ['queued', 'agent_joined', 'agent_left', 'agent_message', 'agent_typing_started', 'agent_typing_stopped', 'push_url', 'attachment', 'transferred', 'notice', 'ended', 'failed'],
  })
  type: string;
  @ApiProperty({ allOf: [{ $ref: '#/components/schemas/EventData' }], description: 'As delivered: `<Type>EventData` of its type.' }) data: Record<string, unknown>;
  @ApiProperty() occurredAt: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'abandoned', 'no_callback'] }) deliveryStatus: string;
  @ApiProperty() deliveryAttempts: number;
}

/** `GET /v1/conversations/{id}/events`: where the replay starts and how much it answers. */
export class ReplayQuery {
  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: MAX_SEQ, description: 'Sequence number already seen.' })
  @IsOptional()
  @QueryInteger()
  @IsInt({ message: `must be an integer from 0 to ${MAX_SEQ}` })
  @Min(0, { message: `must be an integer from 0 to ${MAX_SEQ}` })
  @Max(MAX_SEQ, { message: `must be an integer from 0 to ${MAX_SEQ}` })
  after?: number;

  @ApiPropertyOptional({ default: 200, minimum: 1, maximum: 1000 })
  @IsOptional()
  @QueryInteger()
  @IsInt({ message: 'must be an integer from 1 to 1000' })
  @Min(1, { message: 'must be an integer from 1 to 1000' })
  @Max(1000, { message: 'must be an integer from 1 to 1000' })
  limit?: number;
}
