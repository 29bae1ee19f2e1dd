import { IncomingHttpHeaders } from 'node:http';
import { GmsSimulatedOperation } from './gms-protocol.types';

/** A request as recorded for contract tests (only while capture is on). */
export interface GmsRecordedRequest {
  at: number;
  operation: GmsSimulatedOperation;
  path: string;
  serviceName?: string;
  chatId?: string;
  fileId?: string;
  headers: IncomingHttpHeaders;
  fields: Record<string, string>;
  userData: Record<string, string>;
  files: { field: string; filename: string; mimeType: string; size: number }[];
}

/** What `GmsSimulator.requestLog()` returns. */
export interface GmsRequestLogSnapshot {
  /** Requests received per operation, faulted or not. */
  counts: Partial<Record<GmsSimulatedOperation, number>>;
  /** Faults applied, per kind. */
  faults: Record<string, number>;
  capturing: boolean;
  /** Most recent last. */
  requests: GmsRecordedRequest[];
}

/**
 * Counters are always on and cost one property increment; bodies are kept only when capture is enabled, in a bounded
 * buffer, so the benchmark can leave the recorder alone.
 */
export class GmsRequestRecorder {
  private counts: Partial<Record<GmsSimulatedOperation, number>> = {};
  private faults: Record<string, number> = {};
  private requests: GmsRecordedRequest[] = [];
  /** Waiting for fault counts: told at each fault, so that nothing polls. */
  private readonly faultWaiters = new Set<() => void>();

  constructor(
    public capturing: boolean,
    private readonly limit: number,
  ) {}

  count(operation: GmsSimulatedOperation): void {
    this.counts[operation] = (this.counts[operation] ?? 0) + 1;
  }

  countFault(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
    for (const waiter of [...this.faultWaiters]) waiter();
  }

  /** Resolves once `count` faults of `kind` have been applied in all. */
  faultsApplied(kind: string, count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if ((this.faults[kind] ?? 0) < count) return;
        this.faultWaiters.delete(check);
        resolve();
      };
      this.faultWaiters.add(check);
      check();
    });
  }

  record(request: GmsRecordedRequest): void {
    if (!this.capturing) return;
    this.requests.push(request);
    if (this.requests.length > this.limit) this.requests.splice(0, this.requests.length - this.limit);
  }

  snapshot(): GmsRequestLogSnapshot {
    return { counts: { ...this.counts }, faults: { ...this.faults }, capturing: this.capturing, requests: [...this.requests] };
  }

  reset(): void {
    this.counts = {};
    this.faults = {};
    this.requests = [];
  }
}
