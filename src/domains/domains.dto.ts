import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsInt, IsOptional, IsString, IsUrl, Length, Matches, Max, MaxLength, Min, ValidateBy, ValidateIf } from 'class-validator';
import { isWebhookSecret } from '@app/client';
import { MAX_SECRET_OVERLAP_HOURS } from '../config/app-config';

/** A Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 random bytes, as the standard's own libraries read it. */
const IsWebhookSecret = () =>
  ValidateBy({
    name: 'isWebhookSecret',
    validator: { validate: (value) => typeof value === 'string' && isWebhookSecret(value), defaultMessage: () => 'must be whsec_ followed by the base64 of 24 to 64 bytes' },
  });

export class CreateDomainDto {
  @ApiProperty({ example: 'acme-retail', description: 'Unique name; gateways name their domain by it.' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'must be 1-100 letters, digits, dot, dash or underscore' })
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ example: 'https://bot.example.com/hooks/chat-gateway', description: 'Where events are POSTed, signed.' })
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  callbackUrl?: string;

  @ApiPropertyOptional({
    enum: ['channel', 'bot'],
    description:
      "Channel conversations escalated to an agent: `channel` (default) sends the agent's messages, typing and files straight to the user; " +
      '`bot` only delivers them to the bot as events, for a bot that must see or translate everything first (it then sends them with `author: agent`).',
  })
  @IsOptional()
  @IsIn(['channel', 'bot'])
  agentMessages?: 'channel' | 'bot';

  @ApiPropertyOptional({
    writeOnly: true,
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'Standard Webhooks signing secret: `whsec_` followed by the base64 of 24 to 64 random bytes. Write-only. When ' +
      'omitted, the service generates one and returns it in this response only.',
  })
  @IsOptional()
  @IsString()
  @IsWebhookSecret()
  signingSecret?: string;
}

export class UpdateDomainDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  callbackUrl?: string;

  @ApiPropertyOptional({
    enum: ['channel', 'bot'],
    description:
      "Channel conversations escalated to an agent: `channel` (default) sends the agent's messages, typing and files straight to the user; " +
      '`bot` only delivers them to the bot as events, for a bot that must see or translate everything first (it then sends them with `author: agent`).',
  })
  @IsOptional()
  @IsIn(['channel', 'bot'])
  agentMessages?: 'channel' | 'bot';

  @ApiPropertyOptional({
    writeOnly: true,
    description:
      'A new signing secret. The one it replaces stays valid for `previousSecretValidHours` (SIGNING_SECRET_OVERLAP_HOURS by default): ' +
      'until then every delivery carries a signature by each, so the bot platform can switch without refusing any.',
  })
  // Validated when present, null included: deliveries cannot be left unsigned by a PATCH.
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'must be a string: a signing secret can be replaced, not removed' })
  @IsWebhookSecret()
  signingSecret?: string;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_SECRET_OVERLAP_HOURS,
    description:
      'Hours the replaced signing secret stays valid, from now. With `signingSecret`: for the secret it replaces (0 for a ' +
      'leaked one: it ends at once). Alone: a new end for the secret still valid from the last change (0 ends it now).',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SECRET_OVERLAP_HOURS)
  previousSecretValidHours?: number;
}

export class DomainDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiPropertyOptional({ nullable: true, type: String }) callbackUrl: string | null;
  @ApiProperty({ enum: ['channel', 'bot'], description: "Where an agent's messages on a channel conversation go: the channel itself, or only the bot." }) agentMessages: 'channel' | 'bot';
  @ApiProperty({ description: 'Whether a signing secret is set (the secret itself is never returned).' }) signingSecretSet: boolean;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Until when deliveries are also signed with the secret the current one replaced; null when they are not.',
  })
  previousSigningSecretValidUntil: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class CreatedDomainDto extends DomainDto {
  @ApiPropertyOptional({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'The signing secret the service generated because the request gave none. Shown only in this response.',
  })
  signingSecret?: string;
}

export class AgentEntryDto {
  @ApiProperty({ example: 'grace@example.com', description: 'The agent e-mail the contact center reports (case-insensitive).' })
  @IsEmail()
  email: string;

  @ApiProperty({ example: 'Grace H.', description: 'Name shown to the bot platform when the gateway uses "Lookup Agent by Email".' })
  @IsString()
  @Length(1, 200)
  displayName: string;
}
