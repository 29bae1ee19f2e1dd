/**
 * Runs drain-style work ("process what is pending for this key") in this process, coalescing triggers: a trigger
 * while the key's work runs only asks it to run once more when it ends, so any number of triggers during one run
 * cost one more run. Work that throws is handed to `onFailure` (to queue it as a job instead). Not a lock between
 * processes: the work must be safe to run beside other processes' runs.
 */
export class InProcessPasses {
  private readonly running = new Map<string, { again: boolean; done: Promise<void> }>();
  private closed = false;

  constructor(
    /** `again` answers whether a trigger came since the run started (and takes it): a run may serve it at once. */
    private readonly work: (key: string, again: () => boolean) => Promise<unknown>,
    private readonly onFailure: (key: string, error: unknown) => Promise<unknown>,
  ) {}

  /** False once `close` was called: the caller queues the work instead. */
  get open(): boolean {
    return !this.closed;
  }

  trigger(key: string): void {
    const running = this.running.get(key);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false, done: Promise.resolve() };
    this.running.set(key, state);
    const takeAgain = () => {
      const again = state.again;
      state.again = false;
      return again;
    };
    state.done = (async () => {
      try {
        do {
          state.again = false;
          await this.work(key, takeAgain);
        } while (state.again);
      } catch (error) {
        await this.onFailure(key, error).catch(() => undefined);
      } finally {
        this.running.delete(key);
      }
    })();
  }

  /** Takes no more triggers and waits for the runs under way. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running.values()].map((state) => state.done));
  }
}
