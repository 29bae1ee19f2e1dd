import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { AccountDto, CreateAccountDto, CreatedAccountDto, CreatedApiKeyDto, CreateKeyDto, RoleDto, UpdateAccountDto } from './accounts.dto';
import { AccountsService } from './accounts.service';
import { CurrentPrincipal, CurrentScope, Principal, RequireAuthority } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';

@ApiTags('accounts')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get('roles')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List roles and their authorities' })
  @ApiOkResponse({ type: [RoleDto] })
  async roles(): Promise<RoleDto[]> {
    return (await this.accounts.listRoles()).map(({ id, name, description, authorities }) => ({ id, name, description, authorities }));
  }

  @Post('accounts')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Create a service account with a first API key (the key is shown once), optionally scoped to domains' })
  @ApiCreatedResponse({ type: CreatedAccountDto })
  async create(@Body() body: CreateAccountDto, @CurrentPrincipal() who: Principal): Promise<CreatedAccountDto> {
    const { account, key, keyId } = await this.accounts.create(body, who);
    return { ...account, apiKey: { ...account.keys.find((k) => k.id === keyId)!, key } };
  }

  @Get('accounts')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List service accounts and their keys (never the keys themselves)' })
  @ApiOkResponse({ type: [AccountDto] })
  list(@CurrentScope() scope: DomainScope): Promise<AccountDto[]> {
    return this.accounts.list(scope);
  }

  @Get('accounts/:id')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Get a service account' })
  @ApiOkResponse({ type: AccountDto })
  get(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<AccountDto> {
    return this.accounts.get(id, scope);
  }

  @Patch('accounts/:id')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: "Change an account's description or domains (its keys see the new domains at once)" })
  @ApiOkResponse({ type: AccountDto })
  update(@Param('id', ParseUuid) id: string, @Body() body: UpdateAccountDto, @CurrentPrincipal() who: Principal): Promise<AccountDto> {
    return this.accounts.update(id, body, who);
  }

  @Delete('accounts/:id')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Disable a service account (all its keys stop working)' })
  @ApiNoContentResponse({ description: 'Disabled.' })
  async disable(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<void> {
    await this.accounts.disable(id, scope);
  }

  @Post('accounts/:id/keys')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: "Issue another API key for an account (shown once), optionally narrowed to some of the account's domains" })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  createKey(@Param('id', ParseUuid) id: string, @Body() body: CreateKeyDto, @CurrentPrincipal() who: Principal): Promise<CreatedApiKeyDto> {
    return this.accounts.createKey(id, body, who);
  }

  @Delete('accounts/:id/keys/:keyId')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Revoke an API key' })
  @ApiNoContentResponse({ description: 'Revoked.' })
  async revokeKey(@Param('id', ParseUuid) id: string, @Param('keyId', ParseUuid) keyId: string, @CurrentScope() scope: DomainScope): Promise<void> {
    await this.accounts.revokeKey(id, keyId, scope);
  }
}
