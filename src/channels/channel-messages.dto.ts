import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsObject, IsOptional, IsString, IsUrl, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { MEDIA_TYPE } from '../common/file-headers';

export class OutboundAttachmentDto {
  @ApiProperty({ example: 'https://files.example.com/receipt.pdf', description: 'Where the channel fetches the file (http or https).' })
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  url: string;

  @ApiProperty({ example: 'application/pdf' })
  @IsString()
  @Length(3, 255)
  @Matches(MEDIA_TYPE, { message: 'must be a media type (type/subtype, optional ; parameters)' })
  contentType: string;

  @ApiPropertyOptional({ example: 'receipt.pdf' }) @IsOptional() @IsString() @Length(1, 255) name?: string;
}

export class OutboundCardDto {
  @ApiProperty({ example: 'application/vnd.microsoft.card.adaptive' }) @IsString() @Length(1, 100) contentType: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The card's JSON (an Adaptive Card)." }) @IsObject() content: Record<string, unknown>;
}

export class QuickReplyDto {
  @ApiProperty({ example: 'Yes' }) @IsString() @Length(1, 200) title: string;
  @ApiPropertyOptional({ example: 'yes', description: 'What pressing it sends back (the title when absent).' }) @IsOptional() @IsString() @MaxLength(1000) value?: string;
}

export class TemplateDto {
  @ApiProperty({ example: 'pickup_ready', description: "The template's name in the channel's registry (WhatsApp message templates)." })
  @IsString()
  @Length(1, 512)
  name: string;

  @ApiProperty({ example: 'en_US', description: 'The language code of the template version to send, as registered.' })
  @IsString()
  @Length(2, 20)
  language: string;

  @ApiPropertyOptional({ type: [String], example: ['Ana', 'tomorrow 10:00'], description: "The body's {{1}}, {{2}}... values, in order (as many as the template takes)." })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  parameters?: string[];

  @ApiPropertyOptional({ type: [String], example: ['PICKUP_YES', 'PICKUP_LATER'], description: "Payloads of the template's quick-reply buttons, in order: a press comes back as the user message's `value`." })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  buttonPayloads?: string[];
}

export class SendMessageDto {
  @ApiPropertyOptional({
    enum: ['bot', 'agent'],
    default: 'bot',
    description: "`agent`: the bot relays an agent's message (a domain whose `agentMessages` is `bot`); accepted while the agent has control, unlike the bot's own.",
  })
  @IsOptional()
  @IsIn(['bot', 'agent'])
  author?: 'bot' | 'agent';

  @ApiPropertyOptional({ example: 'Grace', description: "The name shown for the author where the channel shows one (the agent's)." })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  authorName?: string;

  @ApiPropertyOptional({ example: 'Your parcel leaves today.' }) @IsOptional() @IsString() @MaxLength(20_000) text?: string;

  @ApiPropertyOptional({ type: [OutboundAttachmentDto], description: "Files (capability `attachments`)." })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => OutboundAttachmentDto)
  attachments?: OutboundAttachmentDto[];

  @ApiPropertyOptional({ type: [OutboundCardDto], description: 'Adaptive Cards (capability `adaptive-cards`).' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => OutboundCardDto)
  cards?: OutboundCardDto[];

  @ApiPropertyOptional({ type: [QuickReplyDto], description: 'Buttons the user can press instead of typing (capability `quick-replies`).' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(13)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => QuickReplyDto)
  quickReplies?: QuickReplyDto[];

  @ApiPropertyOptional({
    type: TemplateDto,
    description:
      "A pre-approved template (capability `templates`: WhatsApp). Outside the channel's service window (24 hours after the user last wrote) it is the only thing that can be sent: " +
      'without it, 422 `template_required`. Checked against the channel\'s registry (name, language, approved, parameter count): 400 naming the field otherwise. ' +
      'Inside the window, the free-form content is sent when there is some.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TemplateDto)
  template?: TemplateDto;
}

export class SendTypingDto {
  @ApiPropertyOptional({ enum: ['bot', 'agent'], default: 'bot' }) @IsOptional() @IsIn(['bot', 'agent']) author?: 'bot' | 'agent';
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 200) authorName?: string;
}

export class OutboundMessageDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ description: "Order among the conversation's outbound messages: they are sent in this order." }) seq: number;
  @ApiProperty({ enum: ['message', 'typing'] }) kind: string;
  @ApiProperty({ enum: ['bot', 'agent'] }) author: string;
  @ApiPropertyOptional({ nullable: true, type: String }) authorName: string | null;
  @ApiProperty({ enum: ['accepted', 'sent', 'delivered', 'read', 'failed'] }) status: string;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Why it failed: an unreachable reason (`blocked`, `not_installed`, `opted_out`, `invalid_recipient`, `window_closed`, `session_ended`, `unknown`), `retries_exhausted` or `rejected`.',
  })
  reason: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'What the last attempt said (an interrupted attempt, the platform error).' }) detail: string | null;
  @ApiProperty({ description: 'Attempts started, an interrupted one included.' }) attempts: number;
  @ApiPropertyOptional({ nullable: true, type: String }) platformMessageId: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) sentAt: string | null;
  @ApiProperty() updatedAt: string;
}
