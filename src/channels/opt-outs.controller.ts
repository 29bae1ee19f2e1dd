import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { CurrentPrincipal, Principal, RequireAuthority } from '../auth/auth.decorators';
import { ApiErrorResponses } from '../common/api-errors.decorator';
import { DomainError } from '../common/domain-error';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { GatewaysService } from '../gateways/gateways.service';
import { ChannelConversationsRepository } from './channel-conversations.repository';

export class OptOutDto {
  @ApiProperty({ example: '+34600111222', description: "The channel's id for the user (the phone number on SMS, the WhatsApp id)." }) userId: string;
  @ApiProperty({ enum: ['user', 'operator'], description: '`user`: they opted out on the channel (SMS STOP); `operator`: put on the list through this API.' }) source: string;
  @ApiPropertyOptional({ nullable: true, type: String }) note: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'The account that put them on the list (operator entries).' }) actor: string | null;
  @ApiProperty() createdAt: string;
}

export class OptOutPageDto {
  @ApiProperty({ type: [OptOutDto] }) items: OptOutDto[];
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Pass as `after` for the next page; null on the last one.' }) next: string | null;
}

export class OptOutQueryDto {
  @ApiPropertyOptional({ default: 100, minimum: 1, maximum: 1000 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
  @ApiPropertyOptional({ description: 'The last `userId` of the previous page.' }) @IsOptional() @IsString() @Length(1, 512) after?: string;
}

export class PutOptOutDto {
  @ApiPropertyOptional({ example: 'asked by phone on 2026-12-07', description: 'Why, for the record.' }) @IsOptional() @IsString() @Length(0, 500) note?: string;
}

/**
 * A channel gateway's opt-out list: the users a proactive message is refused for (422 `opted_out`), filled by the
 * users themselves (SMS STOP; START takes them off) and by operators.
 */
@ApiTags('gateways')
@ApiBearerAuth()
@ApiErrorResponses()
@Controller('v1/gateways/:id/opt-outs')
export class OptOutsController {
  constructor(
    private readonly gateways: GatewaysService,
    private readonly channels: ChannelConversationsRepository,
  ) {}

  @Get()
  @RequireAuthority('conversations:observe')
  @ApiOperation({ summary: "The gateway's opt-out list, by user id" })
  @ApiOkResponse({ type: OptOutPageDto })
  async list(@Param('id', ParseUuid) id: string, @Query() query: OptOutQueryDto, @CurrentPrincipal() who: Principal): Promise<OptOutPageDto> {
    await this.gateways.get(id, who.domainIds);
    const limit = query.limit ?? 100;
    const rows = await this.channels.optOuts(id, limit, query.after ?? null);
    return {
      items: rows.map((row) => ({ userId: row.userId, source: row.source, note: row.note, actor: row.actor, createdAt: row.createdAt.toISOString() })),
      next: rows.length === limit ? rows[rows.length - 1].userId : null,
    };
  }

  @Put(':userId')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Put a user on the opt-out list (no proactive message reaches them until they are taken off or opt back in)' })
  @ApiNoContentResponse({ description: 'On the list.' })
  async put(@Param('id', ParseUuid) id: string, @Param('userId') userId: string, @Body() body: PutOptOutDto, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.gateways.get(id, who.domainIds);
    if (userId.length > 512) throw DomainError.validation([{ field: 'userId', message: 'must be at most 512 characters' }]);
    await this.channels.optOut(null, { gatewayId: id, userId, source: 'operator', note: body.note ?? null, actor: who.accountName });
  }

  @Delete(':userId')
  @HttpCode(204)
  @RequireAuthority('gateways:configure')
  @ApiOperation({ summary: 'Take a user off the opt-out list' })
  @ApiNoContentResponse({ description: 'Off the list.' })
  async remove(@Param('id', ParseUuid) id: string, @Param('userId') userId: string, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.gateways.get(id, who.domainIds);
    if (!(await this.channels.optIn(null, id, userId))) throw DomainError.notFound('Opt-out of user', userId);
  }
}
