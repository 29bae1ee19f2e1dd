import { Global, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { MetricsService } from '../metrics/metrics.service';
import { ALL_QUEUES } from './queues';

const queues = BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name })));

/** Every queue, registered once and visible to every module, plus the metrics that read them. */
@Global()
@Module({ imports: [queues], providers: [MetricsService], exports: [queues, MetricsService] })
export class QueuesModule {}
