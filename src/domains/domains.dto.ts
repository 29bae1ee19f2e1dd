import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsInt, IsOptional, IsString, IsUrl, Length, Matches, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { MAX_SECRET_OVERLAP_HOURS } from '../config/app-config';

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
    writeOnly: true,
    description: 'Standard Webhooks signing secret (`whsec_` + base64, or any 24+ character string). Write-only.',
  })
  @IsOptional()
  @IsString()
  @MinLength(24)
  @MaxLength(200)
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
    writeOnly: true,
    description:
      'A new signing secret. The one it replaces stays valid for `previousSecretValidHours` (SIGNING_SECRET_OVERLAP_HOURS by default): ' +
      'until then every delivery carries a signature by each, so the bot platform can switch without refusing any.',
  })
  // Validated when present, null included: deliveries cannot be left unsigned by a PATCH.
  @ValidateIf((_, value) => value !== undefined)
  @IsString({ message: 'must be a string: a signing secret can be replaced, not removed' })
  @MinLength(24)
  @MaxLength(200)
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

export class AgentEntryDto {
  @ApiProperty({ example: 'grace@example.com', description: 'The agent e-mail the contact center reports (case-insensitive).' })
  @IsEmail()
  email: string;

  @ApiProperty({ example: 'Grace H.', description: 'Name shown to the bot platform when the gateway uses "Lookup Agent by Email".' })
  @IsString()
  @Length(1, 200)
  displayName: string;
}
