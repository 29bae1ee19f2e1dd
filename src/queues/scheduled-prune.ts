import { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { RedisLock } from './redis-lock';
import { ComponentLogger } from '../common/app-logger';

/** How often a prune runs (the first time one interval after a worker starts). */
const EVERY_MS = 60_000;
/**
 * How long one run goes on while its statements come back full: a backlog (a retention just shortened, a worker down
 * for days) is worked off over several runs, each well inside the lock's TTL.
 */
const RUN_BUDGET_MS = 50_000;
const LOCK_TTL_MS = 2 * 60_000;

/**
 * A retention: deletes what is past its period every minute, one worker at a time (a Redis lock), in short
 * statements (each its own transaction) for as long as they come back full, up to RUN_BUDGET_MS a run.
 */
export abstract class ScheduledPrune implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  /** `periodMs`: how long rows are kept, read at each run (0 switches the retention off). */
  protected constructor(
    private readonly lockName: string,
    private readonly periodMs: () => number,
    private readonly lock: RedisLock,
    protected readonly log: ComponentLogger,
  ) {}

  /** Deletes what fell out of the period before `before` (under the lock); answers the rows deleted. */
  protected abstract prune(before: Date): Promise<number>;

  private get enabled(): boolean {
    return this.periodMs() > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    const run = () => void this.runOnce().catch((error) => this.log.error('retention failed', { error: (error as Error).message }));
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes what is due now; answers the rows deleted, or null when another worker was running it. */
  async runOnce(): Promise<number | null> {
    if (!this.enabled) return 0;
    const outcome = await this.lock.withLock(this.lockName, LOCK_TTL_MS, () => this.prune(new Date(Date.now() - this.periodMs())));
    return outcome.ran ? outcome.value : null;
  }

  /** Runs `deleteBatch` (answering the rows it deleted) until one deletes fewer than `batch` or the budget is spent. */
  protected async inBatches(batch: number, deleteBatch: () => Promise<number>): Promise<number> {
    let deleted = 0;
    const until = Date.now() + RUN_BUDGET_MS;
    for (;;) {
      const rows = await deleteBatch();
      deleted += rows;
      if (rows < batch || Date.now() >= until) return deleted;
    }
  }
}
