import { Injectable } from '@nestjs/common';
import { Statement } from '../database/combined-statement';
import { EscalationIngestService, IngestInput, IngestItem, IngestOutcome } from './escalation-ingest.service';
import { EscalationsRepository } from './escalations.repository';

/** Records what platform calls reported (and the engine's own decisions), then triggers what follows the commit. */
@Injectable()
export class EscalationRecorder {
  constructor(
    private readonly escalations: EscalationsRepository,
    private readonly ingest: EscalationIngestService,
  ) {}

  async record(escalationId: string, input: IngestInput): Promise<IngestOutcome> {
    const result = await this.escalations.transaction((em) => this.ingest.ingestIn(em, escalationId, input));
    await this.ingest.afterCommit(escalationId, result);
    return result;
  }

  /** `record` for several distinct escalations in one transaction, with `alongside` (see EscalationIngestService.ingestManyIn). */
  async recordMany(items: IngestItem[], alongside: Statement[] = []): Promise<IngestOutcome[]> {
    const results = await this.escalations.transaction((em) => this.ingest.ingestManyIn(em, items, alongside));
    await this.ingest.afterCommitMany(items.map((item, i) => ({ escalationId: item.escalationId, result: results[i] })));
    return results;
  }
}
