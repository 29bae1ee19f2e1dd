import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentScope, RequireAuthority, RequireUnscoped } from '../auth/auth.decorators';
import type { DomainScope } from '../auth/domain-scope';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { AgentEntryDto, CreatedDomainDto, CreateDomainDto, DomainDto, UpdateDomainDto } from './domains.dto';
import { DomainsService } from './domains.service';

@ApiTags('domains')
@ApiBearerAuth()
@ApiErrorResponses(409)
@Controller('v1/domains')
export class DomainsController {
  constructor(private readonly domains: DomainsService) {}

  @Post()
  @RequireAuthority('gateways:configure')
  @RequireUnscoped()
  @ApiOperation({
    summary: 'Create a domain (bot-platform tenant) with its callback URL and signing secret (generated and shown once when not given; a key scoped to domains cannot)',
  })
  @ApiCreatedResponse({ type: CreatedDomainDto })
  async create(@Body() body: CreateDomainDto): Promise<CreatedDomainDto> {
    const { domain, generatedSecret } = await this.domains.create(body);
    return { ...this.domains.toDto(domain), ...(generatedSecret ? { signingSecret: generatedSecret } : {}) };
  }

  @Get()
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'List domains' })
  @ApiOkResponse({ type: [DomainDto] })
  async list(@CurrentScope() scope: DomainScope): Promise<DomainDto[]> {
    return (await this.domains.list(scope)).map((d) => this.domains.toDto(d));
  }

  @Get(':id')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Get a domain' })
  @ApiOkResponse({ type: DomainDto })
  async get(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<DomainDto> {
    return this.domains.toDto(await this.domains.get(id, scope));
  }

  @Patch(':id')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Update a domain; an omitted signing secret is kept' })
  @ApiOkResponse({ type: DomainDto })
  async update(@Param('id', ParseUuid) id: string, @Body() body: UpdateDomainDto, @CurrentScope() scope: DomainScope): Promise<DomainDto> {
    return this.domains.toDto(await this.domains.update(id, body, scope));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Delete a domain that has no gateways or conversations' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  async remove(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<void> {
    await this.domains.remove(id, scope);
  }

  @Get(':id/agents')
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Agent directory of the domain (used by the "Lookup Agent by Email" agent override)' })
  @ApiOkResponse({ type: [AgentEntryDto] })
  agents(@Param('id', ParseUuid) id: string, @CurrentScope() scope: DomainScope): Promise<AgentEntryDto[]> {
    return this.domains.agents(id, scope);
  }

  @Put(':id/agents')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Add or change an agent of the directory' })
  @ApiNoContentResponse({ description: 'Stored.' })
  async putAgent(@Param('id', ParseUuid) id: string, @Body() body: AgentEntryDto, @CurrentScope() scope: DomainScope): Promise<void> {
    await this.domains.putAgent(id, body.email, body.displayName, scope);
  }

  @Delete(':id/agents/:email')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Remove an agent from the directory' })
  @ApiNoContentResponse({ description: 'Removed.' })
  async removeAgent(@Param('id', ParseUuid) id: string, @Param('email') email: string, @CurrentScope() scope: DomainScope): Promise<void> {
    await this.domains.removeAgent(id, email, scope);
  }
}
