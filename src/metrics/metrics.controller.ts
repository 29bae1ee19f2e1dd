import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { RequireAuthority, RequireUnscoped } from '../auth/auth.decorators';
import { MetricsService } from './metrics.service';

/** Series name every domain; a separate listener (METRICS_PORT, `MetricsListener`) serves them without a key. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @RequireAuthority('metrics:read')
  @RequireUnscoped()
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  render(): Promise<string> {
    return this.metrics.render();
  }
}
