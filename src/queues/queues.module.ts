import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { logQueueErrors } from './queue-errors';
import { JobDispatcher } from './job-dispatcher.service';
import { ALL_QUEUES } from './queues';
import { RedisLock } from './redis-lock';

const queues = BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name })));

/** The queues' own errors in the structured log (the workers' are attached by each processor). */
@Injectable()
class QueueErrors implements OnModuleInit {
  constructor(
    private readonly modules: ModuleRef,
    private readonly logger: AppLogger,
  ) {}

  onModuleInit(): void {
    for (const name of ALL_QUEUES) logQueueErrors(this.modules.get<Queue>(getQueueToken(name), { strict: false }), this.logger);
  }
}

/** Every queue, registered once, the dispatcher of every job and the one lock, visible to every module. */
@Global()
@Module({ imports: [queues], providers: [QueueErrors, JobDispatcher, RedisLock], exports: [queues, JobDispatcher, RedisLock] })
export class QueuesModule {}
