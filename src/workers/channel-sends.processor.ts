import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { ChannelSender } from '../channels/channel-sender.service';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { ChannelSendJob, JOBS, QUEUES } from '../queues/queues';
import { QueueWorker } from './queue-worker';

/** Outbound messages of channel conversations, one conversation per job, in order. */
@Processor(QUEUES.channelSends, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class ChannelSendsProcessor extends QueueWorker {
  protected readonly handlers = {
    [JOBS.send]: (job: Job<ChannelSendJob>) => this.sender.send(job.data.conversationId),
  };

  constructor(
    private readonly sender: ChannelSender,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super(logger, config.WORKER_CONCURRENCY);
  }
}
