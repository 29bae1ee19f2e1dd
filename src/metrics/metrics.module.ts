import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsListener } from './metrics-listener';
import { MetricsService } from './metrics.service';

/** Prometheus metrics, for every module to count into: `/metrics` on the API port, and METRICS_PORT when set. */
@Global()
@Module({ controllers: [MetricsController], providers: [MetricsService, MetricsListener], exports: [MetricsService] })
export class MetricsModule {}
