import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, IsUrl, Length, Matches, MaxLength, MinLength } from 'class-validator';

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

  @ApiPropertyOptional({ writeOnly: true })
  @IsOptional()
  @IsString()
  @MinLength(24)
  @MaxLength(200)
  signingSecret?: string;
}

export class DomainDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiPropertyOptional({ nullable: true, type: String }) callbackUrl: string | null;
  @ApiProperty({ description: 'Whether a signing secret is set (the secret itself is never returned).' }) signingSecretSet: boolean;
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
