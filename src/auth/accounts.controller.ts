import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { ApiKeyEntity, RoleEntity, ServiceAccountEntity } from '../database/entities';
import { AccountDto, ApiKeyDto, CreateAccountDto, CreatedAccountDto, CreatedApiKeyDto, CreateKeyDto, RoleDto } from './accounts.dto';
import { ApiKeysService } from './api-keys.service';
import { RequireAuthority } from './auth.decorators';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const keyDto = (k: ApiKeyEntity): ApiKeyDto => ({
  id: k.id,
  label: k.label,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: iso(k.lastUsedAt),
  revokedAt: iso(k.revokedAt),
});
const accountDto = (a: ServiceAccountEntity, role: RoleEntity, keys: ApiKeyEntity[]): AccountDto => ({
  id: a.id,
  name: a.name,
  description: a.description,
  role: role.name,
  authorities: role.authorities,
  createdAt: a.createdAt.toISOString(),
  disabledAt: iso(a.disabledAt),
  keys: keys.map(keyDto),
});

@ApiTags('accounts')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1')
export class AccountsController {
  constructor(private readonly keys: ApiKeysService) {}

  @Get('roles')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List roles and their authorities' })
  @ApiOkResponse({ type: [RoleDto] })
  async roles(): Promise<RoleDto[]> {
    return (await this.keys.listRoles()).map(({ id, name, description, authorities }) => ({ id, name, description, authorities }));
  }

  @Post('accounts')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Create a service account with a first API key (the key is shown once)' })
  @ApiCreatedResponse({ type: CreatedAccountDto })
  async create(@Body() body: CreateAccountDto): Promise<CreatedAccountDto> {
    const { account, role, key, keyEntity } = await this.keys.createAccount(body.name, body.role, body.description ?? undefined);
    return { ...accountDto(account, role, [keyEntity]), apiKey: { ...keyDto(keyEntity), key } };
  }

  @Get('accounts')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List service accounts and their keys (never the keys themselves)' })
  @ApiOkResponse({ type: [AccountDto] })
  async list(): Promise<AccountDto[]> {
    return (await this.keys.listAccounts()).map(({ account, role, keys }) => accountDto(account, role, keys));
  }

  @Get('accounts/:id')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Get a service account' })
  @ApiOkResponse({ type: AccountDto })
  async get(@Param('id', ParseUuid) id: string): Promise<AccountDto> {
    const { account, role, keys } = await this.keys.getAccount(id);
    return accountDto(account, role, keys);
  }

  @Delete('accounts/:id')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Disable a service account (all its keys stop working)' })
  @ApiNoContentResponse({ description: 'Disabled.' })
  async disable(@Param('id', ParseUuid) id: string): Promise<void> {
    await this.keys.disableAccount(id);
  }

  @Post('accounts/:id/keys')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Issue another API key for an account (shown once)' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async createKey(@Param('id', ParseUuid) id: string, @Body() body: CreateKeyDto): Promise<CreatedApiKeyDto> {
    const { key, entity } = await this.keys.createKey(id, body.label ?? '');
    return { ...keyDto(entity), key };
  }

  @Delete('accounts/:id/keys/:keyId')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiNoContentResponse({ description: 'Revoked.' })
  async revokeKey(@Param('id', ParseUuid) id: string, @Param('keyId', ParseUuid) keyId: string): Promise<void> {
    await this.keys.revokeKey(id, keyId);
  }
}
