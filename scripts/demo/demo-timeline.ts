/** A platform's tag in the transcript (a blank one for set-up lines). */
export type DemoPlatform = 'GMS' | '8x8' | 'Web' | 'Teams' | 'WhatsApp' | '';

/**
 * The printed transcript: one line per thing said or observed, with the milliseconds since the demo started, the
 * platform and who acted.
 */
export class DemoTimeline {
  readonly startedAt = Date.now();

  constructor(private readonly write: (text: string) => void = (text) => process.stdout.write(text)) {}

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  line(platform: DemoPlatform, actor: string, text: string): void {
    const time = `${this.elapsedMs()} ms`.padStart(9);
    this.write(`${time}  ${platform.padEnd(3)}  ${actor.padEnd(7)} ${text}\n`);
  }

  heading(text: string): void {
    this.write(`\n== ${text} ==\n`);
  }

  text(text = ''): void {
    this.write(`${text}\n`);
  }
}

/** A step the demo expected and did not see in time. */
export class DemoStepMissing extends Error {
  constructor(
    readonly platform: DemoPlatform,
    readonly step: string,
    readonly detail: string,
  ) {
    super(`${platform ? `${platform}: ` : ''}${step} (${detail})`);
  }
}

export interface ObservedStep {
  platform: DemoPlatform;
  step: string;
  atMs: number;
}

/**
 * The list of steps the demo must observe. Each check polls until its probe returns something, bounded by the
 * step's own timeout and the demo's total deadline; a step not seen throws `DemoStepMissing` and is remembered.
 */
export class DemoChecklist {
  readonly observed: ObservedStep[] = [];
  readonly missing: DemoStepMissing[] = [];

  constructor(
    private readonly timeline: DemoTimeline,
    private readonly deadline: number,
  ) {}

  get timeLeftMs(): number {
    return this.deadline - Date.now();
  }

  async expect<T>(platform: DemoPlatform, step: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
    const until = Math.min(Date.now() + timeoutMs, this.deadline);
    let lastError: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined && value !== null && value !== false) {
          this.observed.push({ platform, step, atMs: this.timeline.elapsedMs() });
          return value;
        }
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= until) {
        const reason = Date.now() >= this.deadline ? 'the demo ran out of time' : `not seen within ${timeoutMs} ms`;
        const missing = new DemoStepMissing(platform, step, lastError ? `${reason}; last error: ${(lastError as Error).message}` : reason);
        this.missing.push(missing);
        throw missing;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Records a step that happened synchronously (e.g. an API answer) without polling. */
  pass(platform: DemoPlatform, step: string): void {
    this.observed.push({ platform, step, atMs: this.timeline.elapsedMs() });
  }

  /** Records a step that failed outright (an API call refused, an exception in the script). */
  fail(platform: DemoPlatform, step: string, detail: string): DemoStepMissing {
    const missing = new DemoStepMissing(platform, step, detail);
    this.missing.push(missing);
    return missing;
  }
}
