import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { RedisLock } from '../queues/redis-lock';
import { ScheduledPrune } from '../queues/scheduled-prune';
import { WebchatTranscriptRepository } from './webchat-transcript.repository';

/** Files per statement: each up to the gateway's attachment limit (4 MB by default). */
const BATCH = 100;

/**
 * Deletes what web chat users uploaded WEBCHAT_FILE_RETENTION_HOURS after the upload, as Direct Line does after a day:
 * the bytes are the bulk of a web chat's storage, and the bot has had them (as `user_message` attachments) long before.
 */
@Injectable()
export class WebchatFileRetention extends ScheduledPrune {
  constructor(
    private readonly transcripts: WebchatTranscriptRepository,
    lock: RedisLock,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super('retention:webchat-files', () => config.WEBCHAT_FILE_RETENTION_HOURS * 3_600_000, lock, logger.child('retention'));
  }

  protected async prune(before: Date): Promise<number> {
    const deleted = await this.inBatches(BATCH, () => this.transcripts.deleteFilesBefore(before, BATCH));
    if (deleted > 0) this.log.info('web chat files deleted', { deleted, uploadedBefore: before.toISOString() });
    return deleted;
  }
}
