interface Waiting<In, Out> {
  input: In;
  resolve(output: Out): void;
  reject(error: unknown): void;
}

export interface GroupedWritesOptions<In> {
  /** Statements running at once; calls arriving meanwhile wait for the next one. */
  maxInFlight: number;
  /** Calls in one statement. */
  maxItems: number;
  /** With `sizeOf`: what one statement may carry (a single larger call still goes, alone). */
  maxSize?: number;
  sizeOf?: (input: In) => number;
}

/**
 * Groups concurrent calls into one statement: a call made while `maxInFlight` statements run waits and goes with the
 * others that waited, so under load one round trip serves many callers and alone a call goes at once. `write` answers
 * one output per input, in order. When a grouped statement fails, each of its calls is tried alone, so that one input
 * the database refuses does not fail the others.
 */
export class GroupedWrites<In, Out> {
  private readonly queue: Waiting<In, Out>[] = [];
  private inFlight = 0;

  constructor(
    private readonly write: (inputs: In[]) => Promise<Out[]>,
    private readonly options: GroupedWritesOptions<In>,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.countNext());
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** How many of the waiting calls the next statement takes. */
  private countNext(): number {
    const { maxItems, maxSize, sizeOf } = this.options;
    const limit = Math.min(maxItems, this.queue.length);
    if (!sizeOf || maxSize === undefined) return limit;
    let count = 1;
    let total = sizeOf(this.queue[0].input);
    while (count < limit && total + sizeOf(this.queue[count].input) <= maxSize) total += sizeOf(this.queue[count++].input);
    return count;
  }

  private async run(batch: Waiting<In, Out>[]): Promise<void> {
    let outputs: Out[];
    try {
      outputs = await this.write(batch.map((waiting) => waiting.input));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      for (const waiting of batch) await this.run([waiting]);
      return;
    }
    batch.forEach((waiting, i) => waiting.resolve(outputs[i]));
  }
}
