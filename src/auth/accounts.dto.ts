import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';

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
}

export class CreateKeyDto {
  @ApiPropertyOptional({ example: 'rotation 2026-11' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  label?: string;
}

export class ApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() label: string;
  @ApiProperty({ description: 'First characters of the key, to tell keys apart.' }) prefix: string;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) lastUsedAt: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) revokedAt: string | null;
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
  @ApiProperty({ type: [ApiKeyDto] }) keys: ApiKeyDto[];
}

export class CreatedAccountDto extends AccountDto {
  @ApiProperty({ type: CreatedApiKeyDto }) apiKey: CreatedApiKeyDto;
}
