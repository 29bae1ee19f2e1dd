import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiExtraModels, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, CurrentScope, Principal, RequireAuthority } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { DomainError } from '../common/domain-error';
import { GatewayEntity } from '../database/entities';
import { groupJsonSchema } from './settings-validator';
import { GatewayRegistry } from './gateway-registry';
import {
  AuditRecordDto,
  ConnectionTestDto,
  CreateGatewayDto,
  GatewayDto,
  GatewayPageDto,
  GatewayTypeDto,
  ListGatewaysQuery,
  SettingsGroupSchemaDto,
  UpdateGatewayDto,
} from './gateways.dto';
import { GatewaysService } from './gateways.service';

const IF_MATCH = { name: 'If-Match', required: false, description: 'ETag from a previous read; 412 when the gateway changed since.' };

function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined || value === '*') return undefined;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!match) throw DomainError.validation([{ field: 'If-Match', message: 'must be an ETag returned by this API' }]);
  return Number(match[1]);
}

@ApiTags('gateways')
// Named by GatewayTypeDto's settings map only, which the scanner does not follow.
@ApiExtraModels(SettingsGroupSchemaDto)
@ApiBearerAuth()
@ApiErrorResponses(409, 412)
@Controller('v1')
export class GatewaysController {
  constructor(
    private readonly gateways: GatewaysService,
    private readonly registry: GatewayRegistry,
  ) {}

  @Get('gateway-types')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List gateway types: kind, capabilities and the JSON Schema of each settings group' })
  @ApiOkResponse({ type: [GatewayTypeDto] })
  types(): GatewayTypeDto[] {
    return this.registry.list().map(({ gateway, validator }) => ({
      type: gateway.definition.type,
      kind: gateway.definition.kind,
      displayName: gateway.definition.displayName,
      description: gateway.definition.description,
      capabilities: gateway.definition.capabilities,
      settings: Object.fromEntries(
        Object.entries(validator.fields).map(([group, fields]) => [
          group,
          { schema: groupJsonSchema(fields), secretFields: Object.keys(fields).filter((f) => fields[f].secret) },
        ]),
      ),
    }));
  }

  @Post('gateways')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Create a gateway; settings are validated against the type schema' })
  @ApiCreatedResponse({ type: GatewayDto, description: 'The gateway; its version is in the ETag header.' })
  async create(@Body() body: CreateGatewayDto, @CurrentPrincipal() who: Principal, @Res({ passthrough: true }) res: Response): Promise<GatewayDto> {
    return this.send(res, await this.gateways.create(body.type, body.settings, who.accountName, who.domainIds));
  }

  @Get('gateways')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List gateways (paged; filter by type, domain, deployed)' })
  @ApiOkResponse({ type: GatewayPageDto })
  list(@Query() query: ListGatewaysQuery, @CurrentScope() scope: DomainScope): Promise<GatewayPageDto> {
    return this.gateways.list(query, scope);
  }

  @Get('gateways/:id')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Get a gateway (secrets masked); the ETag header carries its version' })
  @ApiOkResponse({ type: GatewayDto, description: 'The gateway; its version is in the ETag header.' })
  async get(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope, @Res({ passthrough: true }) res: Response): Promise<GatewayDto> {
    return this.send(res, await this.gateways.get(id, scope));
  }

  @Patch('gateways/:id')
  @RequireAuthority('gateways:configure')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Change settings; omitted fields, secrets included, keep their values' })
  @ApiOkResponse({ type: GatewayDto })
  async update(
    @Param('id', ParseUuid) id: string,
    @Body() body: UpdateGatewayDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<GatewayDto> {
    return this.send(res, await this.gateways.update(id, body.settings, who.accountName, parseIfMatch(ifMatch), who.domainIds));
  }

  @Delete('gateways/:id')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Delete a gateway that never carried an escalation' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  async remove(@Param('id', ParseUuid) id: string, @Headers('if-match') ifMatch: string | undefined, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.gateways.remove(id, who.accountName, parseIfMatch(ifMatch), who.domainIds);
  }

  @Post('gateways/:id/deploy')
  @HttpCode(200)
  @RequireAuthority('gateways:configure')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Deploy: the gateway takes escalations (platform resources are provisioned first)' })
  @ApiOkResponse({ type: GatewayDto })
  async deploy(
    @Param('id', ParseUuid) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<GatewayDto> {
    return this.send(res, await this.gateways.setDeployed(id, true, who.accountName, parseIfMatch(ifMatch), who.domainIds));
  }

  @Post('gateways/:id/undeploy')
  @HttpCode(200)
  @RequireAuthority('gateways:configure')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Undeploy: no new escalations; open ones continue to their end' })
  @ApiOkResponse({ type: GatewayDto })
  async undeploy(
    @Param('id', ParseUuid) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<GatewayDto> {
    return this.send(res, await this.gateways.setDeployed(id, false, who.accountName, parseIfMatch(ifMatch), who.domainIds));
  }

  @Post('gateways/:id/test')
  @HttpCode(200)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Check the connection to the platform with the stored settings' })
  @ApiOkResponse({ type: ConnectionTestDto })
  test(@Param('id', ParseUuid) id: string, @CurrentPrincipal() who: Principal): Promise<ConnectionTestDto> {
    return this.gateways.test(id, who.accountName, who.domainIds);
  }

  @Get('gateways/:id/audit')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Audit trail of the gateway: who changed which fields when (secrets masked)' })
  @ApiOkResponse({ type: [AuditRecordDto] })
  audit(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<AuditRecordDto[]> {
    return this.gateways.auditTrail(id, scope);
  }

  private async send(res: Response, gateway: GatewayEntity): Promise<GatewayDto> {
    res.setHeader('ETag', `"${gateway.version}"`);
    return this.gateways.toDto(gateway);
  }
}
