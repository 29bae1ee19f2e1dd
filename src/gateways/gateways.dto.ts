import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../common/query.dto';

const SETTINGS_DESCRIPTION =
  'Settings per group (`basic`, `configuration`, `additional`) as declared by the type in `GET /v1/gateway-types`. ' +
  'The basic group always has `name`, `domain`, `deployed` and `locale`. Secret fields are write-only.';

export class SettingsGroupsDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) basic?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) configuration?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) additional?: Record<string, unknown>;
}

export class CreateGatewayDto {
  @ApiProperty({ example: 'genesys-pureengage', description: 'A type listed by `GET /v1/gateway-types`.' })
  @IsString()
  @MaxLength(100)
  type: string;

  @ApiProperty({ type: SettingsGroupsDto, description: SETTINGS_DESCRIPTION })
  @IsObject()
  settings: Record<string, Record<string, unknown>>;
}

export class UpdateGatewayDto {
  @ApiProperty({
    type: SettingsGroupsDto,
    description: 'Fields to change, per group. Omitted fields (secrets included) keep their values; `null` resets a field to its default.',
  })
  @IsObject()
  settings: Record<string, Record<string, unknown>>;
}

export class ListGatewaysQuery extends PageQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) type?: string;
  @ApiPropertyOptional({ description: 'Domain name.' }) @IsOptional() @IsString() @MaxLength(100) domain?: string;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  deployed?: boolean;
}

export class GatewayDto {
  @ApiProperty() id: string;
  @ApiProperty() type: string;
  @ApiProperty() kind: string;
  @ApiProperty() name: string;
  @ApiProperty() domain: string;
  @ApiProperty() deployed: boolean;
  @ApiProperty() locale: string;
  @ApiProperty({ type: SettingsGroupsDto, description: 'Secret values are shown as `********` when set.' })
  settings: Record<string, Record<string, unknown>>;
  @ApiProperty({ description: 'Where this gateway receives platform webhooks.' }) webhookUrl: string;
  @ApiProperty({ description: 'Also sent as the ETag header; send it back in If-Match to detect concurrent edits.' }) version: number;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class GatewayPageDto {
  @ApiProperty({ type: [GatewayDto] }) items: GatewayDto[];
  @ApiProperty() page: number;
  @ApiProperty() pageSize: number;
  @ApiProperty() total: number;
}

export class ConnectionTestDto {
  @ApiProperty() ok: boolean;
  @ApiProperty() detail: string;
  @ApiProperty() durationMs: number;
}

export class AuditRecordDto {
  @ApiProperty() id: string;
  @ApiProperty() actor: string;
  @ApiProperty({ enum: ['create', 'update', 'deploy', 'undeploy', 'delete', 'test'] }) action: string;
  @ApiProperty({ type: [String], description: 'Changed settings as `group.field`.' }) fields: string[];
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Before/after values per field; secrets masked.' })
  changes: Record<string, unknown>;
  @ApiPropertyOptional({ nullable: true, type: String }) correlationId: string | null;
  @ApiProperty() at: string;
}

export class SettingsGroupSchemaDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'JSON Schema of the group; secret fields carry `x-secret: true`.' })
  schema: Record<string, unknown>;
  @ApiProperty({ type: [String] }) secretFields: string[];
}

export class GatewayTypeDto {
  @ApiProperty() type: string;
  @ApiProperty({ enum: ['channel', 'escalation'] }) kind: string;
  @ApiProperty() displayName: string;
  @ApiProperty() description: string;
  @ApiProperty({ type: [String] }) capabilities: string[];
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/SettingsGroupSchemaDto' },
    description: 'Per group (basic, configuration, additional).',
  })
  settings: Record<string, SettingsGroupSchemaDto>;
}
