import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsEmail,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MEDIA_TYPE } from '../common/file-headers';
import { EventDto } from '../conversations/conversations.dto';
import { PageQuery, QueryDateTime } from '../common/query.dto';
import { EscalationState, FINAL_STATES, OPEN_STATES } from '../database/entities';

/** An optional array of at most `max` nested objects, each validated as `type` and documented as such. */
function OptionalArrayOf(type: new () => object, max: number, description?: string): PropertyDecorator {
  // In the order a stack written top to bottom is applied (bottom first).
  return applyDecorators(
    Type(() => type),
    ValidateNested({ each: true }),
    // An array in place of an element passes ValidateNested with nothing in it to check.
    IsObject({ each: true }),
    ArrayMaxSize(max),
    IsArray(),
    IsOptional(),
    ApiPropertyOptional({ type: [type], ...(description ? { description } : {}) }),
  );
}

export class ConversationRefDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: "A channel conversation of the domain (the service's id, as in its events): the switchboard then relays the user's channel activity to the agent and the agent's messages to the channel. Instead of externalId and channel.",
  })
  @IsOptional()
  @IsUUID()
  id?: string;

  @ApiPropertyOptional({ example: 'bot-conv-8812', description: "The bot platform's id of the conversation (required without `id`)." })
  @ValidateIf((ref: ConversationRefDto) => ref.id === undefined)
  @IsString()
  @Length(1, 200)
  externalId?: string;

  @ApiPropertyOptional({ example: 'webchat', description: 'Channel the end user talks through (teams, twilio-sms, whatsapp, webchat...); required without `id`.' })
  @ValidateIf((ref: ConversationRefDto) => ref.id === undefined)
  @IsString()
  @Length(1, 50)
  channel?: string;
}

export class EndUserDto {
  @ApiPropertyOptional({ example: 'Ada' }) @IsOptional() @IsString() @MaxLength(100) firstName?: string;
  @ApiPropertyOptional({ example: 'Lovelace' }) @IsOptional() @IsString() @MaxLength(100) lastName?: string;
  @ApiPropertyOptional({ example: 'Ada Lovelace' }) @IsOptional() @IsString() @MaxLength(200) name?: string;
  @ApiPropertyOptional({ example: 'ada@example.com' }) @IsOptional() @IsEmail() email?: string;
  @ApiPropertyOptional({ example: '+441234567890' }) @IsOptional() @IsString() @MaxLength(40) phone?: string;
  @ApiPropertyOptional({ example: 'en' }) @IsOptional() @IsString() @MaxLength(20) language?: string;
}

export class AttachmentInputDto {
  @ApiProperty({ example: 'receipt.pdf' }) @IsString() @Length(1, 255) name: string;
  @ApiProperty({ example: 'application/pdf', description: 'A media type: `type/subtype`, optionally with `; name=value` parameters.' })
  @IsString()
  @Length(3, 255)
  @Matches(MEDIA_TYPE, { message: 'must be a media type (type/subtype, optional ; parameters)' })
  mimeType: string;

  @ApiPropertyOptional({ description: 'Where the file can be fetched (https). Either url or contentBase64.' })
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  url?: string;

  @ApiPropertyOptional({ description: 'The file itself, base64 (the whole request stays under 1 MiB).' })
  @IsOptional()
  @IsString()
  contentBase64?: string;
}

export class CardDto {
  @ApiProperty({ example: 'application/vnd.microsoft.card.adaptive' }) @IsString() @Length(1, 100) contentType: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) @IsObject() content: Record<string, unknown>;
}

export class HistoryEntryDto {
  @ApiProperty({ enum: ['user', 'bot', 'agent', 'system'] }) @IsIn(['user', 'bot', 'agent', 'system']) author: 'user' | 'bot' | 'agent' | 'system';
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(10_000) text?: string;

  @OptionalArrayOf(AttachmentInputDto, 10)
  attachments?: AttachmentInputDto[];

  @OptionalArrayOf(CardDto, 10)
  cards?: CardDto[];

  @ApiProperty({ example: '2026-11-22T10:00:00Z' }) @IsISO8601() time: string;
}

export class CreateEscalationDto {
  @ApiProperty({ example: 'acme', description: 'Domain name.' }) @IsString() @Length(1, 100) domain: string;
  @ApiProperty({ description: 'A deployed escalation gateway of that domain.' }) @IsUUID() gatewayId: string;

  // IsObject: an array passes ValidateNested with nothing in it to check.
  @ApiProperty({ type: ConversationRefDto }) @IsDefined() @IsObject() @ValidateNested() @Type(() => ConversationRefDto) conversation: ConversationRefDto;
  @ApiProperty({ type: EndUserDto }) @IsDefined() @IsObject() @ValidateNested() @Type(() => EndUserDto) user: EndUserDto;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { Intent: 'balance', Authenticated: 'yes' },
    description: 'Escalation attributes, sent to the platform as user data.',
  })
  @IsOptional()
  @IsObject()
  attributes?: Record<string, string>;

  @OptionalArrayOf(HistoryEntryDto, 500, 'The bot conversation so far (at most 500 entries).')
  history?: HistoryEntryDto[];

  @ApiPropertyOptional({ description: "Target queue; the gateway's configured queue when absent." })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  queue?: string;
}

export class RelayMessageDto {
  @ApiPropertyOptional({ enum: ['user', 'bot'], default: 'user', description: 'Bot-authored messages are refused (409) once an agent controls the conversation.' })
  @IsOptional()
  @IsIn(['user', 'bot'])
  author?: 'user' | 'bot';

  @ApiPropertyOptional({ description: 'Your id of the message; a repeated id is accepted once.' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  clientMessageId?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(20_000) text?: string;

  @OptionalArrayOf(AttachmentInputDto, 10)
  attachments?: AttachmentInputDto[];

  @OptionalArrayOf(CardDto, 10)
  cards?: CardDto[];
}

export class TypingDto {
  @ApiProperty({ enum: ['started', 'stopped'] }) @IsIn(['started', 'stopped']) state: 'started' | 'stopped';
}

export class TransferDto {
  @ApiProperty({ example: 'billing' }) @IsString() @Length(1, 200) queue: string;
}

export class StealDto {
  @ApiPropertyOptional({ description: 'Why the bot takes the conversation back (recorded).' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class EndDto {
  @ApiPropertyOptional({ description: 'Recorded with the transition.' }) @IsOptional() @IsString() @MaxLength(500) reason?: string;
}

export class TransitionDto {
  @ApiPropertyOptional({ nullable: true, type: String }) from: string | null;
  @ApiProperty() to: string;
  @ApiProperty() reason: string;
  @ApiProperty() at: string;
}

export class RelayCommandDto {
  @ApiProperty() id: string;
  @ApiProperty() seq: number;
  @ApiProperty({ enum: ['message', 'typing', 'end', 'transfer'] }) kind: string;
  @ApiProperty({ enum: ['user', 'bot'] }) author: string;
  @ApiProperty({ enum: ['pending', 'sent', 'failed', 'skipped'] }) status: string;
  @ApiProperty() attempts: number;
  @ApiPropertyOptional({ nullable: true, type: String }) lastError: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) payload: Record<string, unknown>;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) sentAt: string | null;
}

export class EscalationDto {
  @ApiProperty() id: string;
  @ApiProperty() conversationId: string;
  @ApiProperty() externalConversationId: string;
  @ApiProperty() domain: string;
  @ApiProperty() gatewayId: string;
  @ApiProperty({ enum: ['requested', 'starting', 'queued', 'active', 'ended', 'failed', 'timed_out'] }) state: string;
  @ApiProperty({ enum: ['bot', 'agent'] }) control: string;
  @ApiPropertyOptional({ nullable: true, type: String }) queue: string | null;
  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true }) agent: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) user: Record<string, string>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) attributes: Record<string, string>;
  @ApiPropertyOptional({ nullable: true, type: String }) endedBy: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) endReason: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) failureReason: string | null;
  @ApiProperty() startAttempts: number;
  @ApiProperty() timeoutAt: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) endedAt: string | null;
}

export class EscalationDetailDto extends EscalationDto {
  @ApiProperty({ type: [TransitionDto] }) transitions: TransitionDto[];
  @ApiProperty({ type: [HistoryEntryDto] }) history: unknown[];
  @ApiProperty({ type: [EventDto], description: 'Events of this escalation, in order.' }) transcript: EventDto[];
  @ApiProperty({ type: [RelayCommandDto], description: 'User-to-agent relay, in order, with its status.' }) relay: RelayCommandDto[];
}

export class EscalationPageDto {
  @ApiProperty({ type: [EscalationDto] }) items: EscalationDto[];
  @ApiProperty() page: number;
  @ApiProperty() pageSize: number;
  @ApiProperty({ description: 'Escalations matching the filter, counted up to 10,000 (see totalCapped)' }) total: number;
  @ApiProperty({ description: 'True when more than 10,000 escalations match: total is then 10,000, a lower bound; narrow the filter (state, gateway, time) for an exact count' })
  totalCapped: boolean;
}

export class AcceptedDto {
  @ApiProperty() id: string;
  @ApiProperty() seq: number;
  @ApiProperty({ enum: ['pending', 'sent', 'failed', 'skipped'] }) status: string;
}

/** The answer to an end for an escalation that had already ended: nothing is queued. */
export class EndedDto {
  @ApiProperty({ enum: ['ended'] }) status: 'ended';
}

const ESCALATION_STATES: readonly EscalationState[] = [...OPEN_STATES, ...FINAL_STATES];

/** Filters and paging of `GET /v1/escalations`. */
export class ListEscalationsQuery extends PageQuery {
  @ApiPropertyOptional({ description: `One state or several, comma-separated (${ESCALATION_STATES.join(', ')}).`, example: 'queued,active' })
  @IsOptional()
  @IsString()
  @Matches(new RegExp(`^(${ESCALATION_STATES.join('|')})(,(${ESCALATION_STATES.join('|')}))*$`), { message: `must be one or more of ${ESCALATION_STATES.join(', ')}, comma-separated` })
  state?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  gatewayId?: string;

  @ApiPropertyOptional({ description: 'Domain name.' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  domain?: string;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'Created at or after (ISO-8601).' })
  @IsOptional()
  @QueryDateTime()
  from?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'Created before (ISO-8601).' })
  @IsOptional()
  @QueryDateTime()
  to?: Date;
}

