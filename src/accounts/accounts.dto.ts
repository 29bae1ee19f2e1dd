import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';

/** Names of domains, each of which must exist (and lie within the caller's own domains). */
const DomainNames = () => applyDecorators(IsArray(), ArrayMinSize(1), ArrayMaxSize(100), IsString({ each: true }), MaxLength(200, { each: true }));

export class CreateAccountDto {
  @ApiProperty({ example: 'crm-integration', description: 'Unique account name.' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{1,62}$/, { message: 'must be 2-63 lowercase letters, digits, dot, dash or underscore' })
  name: string;

  @ApiProperty({ example: 'Integrator', description: 'Name of the role whose authorities the account holds.' })
  @IsString()
  @Length(1, 100)
  role: string;

  @ApiPropertyOptional({ example: 'Starts escalations from the CRM' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['acme'],
    description:
      'Names of the domains the account sees and acts on (its keys see no other domain). Omitted: every domain, for operators and the gateway service; a key scoped to domains must name domains within its own.',
  })
  @IsOptional()
  @DomainNames()
  domains?: string[];
}

export class UpdateAccountDto {
  @ApiPropertyOptional({ example: 'Starts escalations from the CRM', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({
    type: [String],
    nullable: true,
    example: ['acme'],
    description: "The account's domains from now on, for each of its keys at once; null: every domain (only a key that is not scoped itself may set it).",
  })
  @IsOptional()
  @DomainNames()
  domains?: string[] | null;
}

export class CreateKeyDto {
  @ApiPropertyOptional({ example: 'rotation 2026-11' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  label?: string;

  @ApiPropertyOptional({ type: [String], example: ['acme'], description: "Narrows the key to these of the account's domains. Omitted: the account's domains." })
  @IsOptional()
  @DomainNames()
  domains?: string[];
}

export class ApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() label: string;
  @ApiProperty({ description: 'First characters of the key, to tell keys apart.' }) prefix: string;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) lastUsedAt: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) revokedAt: string | null;
  @ApiProperty({ type: [String], nullable: true, description: "The domains this key is narrowed to; null: the account's." }) domains: string[] | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The key itself. Shown only in this response; only its hash is stored.' })
  key: string;
}

export class RoleDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty({ type: [String] }) authorities: string[];
}

export class AccountDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty() role: string;
  @ApiProperty({ type: [String] }) authorities: string[];
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) disabledAt: string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'The domains the account sees and acts on; null: every domain.' }) domains: string[] | null;
  @ApiProperty({ type: [ApiKeyDto] }) keys: ApiKeyDto[];
}

export class CreatedAccountDto extends AccountDto {
  @ApiProperty({ type: CreatedApiKeyDto }) apiKey: CreatedApiKeyDto;
}
