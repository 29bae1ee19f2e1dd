import { Processor } from '@nestjs/bullmq';
import { EscalationRequestJob } from '@app/client';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Job, UnrecoverableError } from 'bullmq';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { unstorableTextFields } from '../common/unstorable-text';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { CreateEscalationDto } from '../escalations/escalations.dto';
import { EscalationsService } from '../escalations/escalations.service';
import { JOBS, QUEUES } from '../queues/queues';
import { QueueWorker } from './queue-worker';

function flatten(errors: import('class-validator').ValidationError[], prefix = ''): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    return Object.values(e.constraints ?? {})
      .map((message) => ({ field, message }))
      .concat(flatten(e.children ?? [], field));
  });
}

/**
 * Intake from internal services. A request that can never succeed (invalid body, unknown gateway, key reused with
 * another body) fails at once without retry, its problems kept as the job's failure reason.
 */
@Processor(QUEUES.escalationRequests, { metrics: { maxDataPoints: 1440 }, lockDuration: 10_000 })
export class EscalationRequestsProcessor extends QueueWorker {
  private readonly log: ComponentLogger;
  protected readonly handlers = {
    [JOBS.intake]: (job: Job<EscalationRequestJob>) => this.intake(job),
  };

  constructor(
    private readonly escalations: EscalationsService,
    config: AppConfig,
    logger: AppLogger,
  ) {
    super(logger, Math.min(20, config.WORKER_CONCURRENCY));
    this.log = logger.child('escalation-requests');
  }

  private async intake(job: Job<EscalationRequestJob>): Promise<{ escalationId: string }> {
    const problems: { field: string; message: string }[] = [];
    const { idempotencyKey, requestedBy, request } = job.data ?? ({} as EscalationRequestJob);
    if (typeof idempotencyKey !== 'string' || idempotencyKey.length < 1 || idempotencyKey.length > 200) problems.push({ field: 'idempotencyKey', message: 'must be a string of 1-200 characters' });
    if (typeof requestedBy !== 'string' || requestedBy.length < 1 || requestedBy.length > 100) problems.push({ field: 'requestedBy', message: 'must be a string of 1-100 characters' });
    const dto = plainToInstance(CreateEscalationDto, request ?? {});
    problems.push(...unstorableTextFields({ idempotencyKey, requestedBy, request }));
    problems.push(...flatten(await validate(dto, { whitelist: true, forbidNonWhitelisted: true })).map((p) => ({ ...p, field: `request.${p.field}` })));
    if (problems.length) return this.reject(job, 'validation_failed', problems);
    try {
      const { escalation } = await this.escalations.create(dto, idempotencyKey, `queue:${requestedBy}`);
      return { escalationId: escalation.id };
    } catch (error) {
      if (error instanceof DomainError && error.code !== 'conflict') return this.reject(job, error.code, error.details ?? error.message);
      throw error;
    }
  }

  private reject(job: Job, code: string, details: unknown): never {
    this.log.warn('escalation request rejected', { jobId: job.id, code, details });
    throw new UnrecoverableError(JSON.stringify({ code, details }));
  }
}
