import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsObject, IsOptional, IsString, IsUUID, Length, ValidateIf, ValidateNested } from 'class-validator';
import { SendMessageDto } from './channel-messages.dto';

export class ProactiveRecipientDto {
  @ApiPropertyOptional({
    example: '6f0c1a5e-35d4-4bd2-9b4a-2c3c8d0f7e11',
    description:
      "The channel's id for the user, as the `user.id` of their events: the Entra object id (aadObjectId) on Teams, the phone number on SMS and WhatsApp. " +
      "The user's latest conversation on the gateway is written to. One of `userId` and `conversationId`.",
  })
  @ValidateIf((r: ProactiveRecipientDto) => r.conversationId === undefined)
  @IsString()
  @Length(1, 512)
  userId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: "A channel conversation's id (from its events), instead of `userId`." })
  @IsOptional()
  @IsUUID()
  conversationId?: string;
}

export class ProactiveMessageDto extends OmitType(SendMessageDto, ['author', 'authorName'] as const) {}

export class SendNotificationDto {
  @ApiProperty({ format: 'uuid', description: 'The channel gateway to write through (a type with the capability `proactive`).' })
  @IsUUID()
  gatewayId: string;

  @ApiProperty({ type: ProactiveRecipientDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ProactiveRecipientDto)
  recipient: ProactiveRecipientDto;

  @ApiProperty({ type: ProactiveMessageDto, description: 'What the user receives: text, files, cards, quick replies, as the channel can show them.' })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ProactiveMessageDto)
  message: ProactiveMessageDto;
}

export class PushConversationDto extends SendNotificationDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { intent: 'device_pickup', ticket: 'INC0012345' },
    description: "Handed back to the bot as it is, in the conversation's `conversation_started` event (origin `proactive`): what the push is about.",
  })
  @IsOptional()
  @IsObject()
  context?: Record<string, unknown>;
}

export class ProactiveAcceptedDto {
  @ApiProperty({ format: 'uuid', description: "The message's id: its `message_status` events (marked `proactive`) carry it as `messageId`." }) id: string;
  @ApiProperty({ enum: ['notification', 'conversation'] }) kind: string;
  @ApiProperty({ format: 'uuid', description: 'The channel conversation written to: the user\'s answer reaches the bot as an event of it.' }) conversationId: string;
  @ApiProperty({ format: 'uuid' }) gatewayId: string;
  @ApiProperty({ enum: ['accepted', 'sent', 'delivered', 'read', 'failed'], description: '`accepted` at first; a replay (same Idempotency-Key) answers the status now.' })
  status: string;
  @ApiPropertyOptional({ nullable: true, type: String }) reason: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: "Stored in the gateway's quiet hours: held until then (not dropped)." }) notBefore: string | null;
}
