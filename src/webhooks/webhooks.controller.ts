import { Controller, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../auth/auth.decorators';
import { ErrorBodyDto } from '../common/error-body.dto';
import { InboundWebhooksService } from './inbound-webhooks.service';

@ApiTags('platform webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly inbound: InboundWebhooksService) {}

  /** Public: platforms authenticate by their own signature, which the gateway type verifies. */
  @Public()
  @Post(':gatewayId')
  @HttpCode(200)
  @ApiOperation({ summary: 'Receives a platform webhook (e.g. 8x8 Chat Gateway events); verified by the gateway type, stored, then processed' })
  @ApiResponse({ status: 200, description: 'Stored (or a duplicate of a stored delivery).' })
  @ApiResponse({ status: 401, type: ErrorBodyDto, description: 'Signature, tenant or freshness check failed.' })
  async receive(@Param('gatewayId', ParseUUIDPipe) gatewayId: string, @Req() req: Request & { rawBody?: Buffer }): Promise<{ received: true; duplicate: boolean }> {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    const { duplicate } = await this.inbound.receive(gatewayId, headers, req.rawBody);
    return { received: true, duplicate };
  }
}
