/**
 * Where a simulator reads the time and sets its timers. By default the machine's clock; a test passes a `ManualClock`
 * and moves time itself, so that what it checks about timers does not depend on how fast the machine runs.
 */
export interface SimulatorClock {
  now(): number;
  /** Calls `fn` every `ms` of this clock's time until the returned function is called. Never keeps a process alive. */
  every(ms: number, fn: () => void): () => void;
  /** Resolves after `ms` of this clock's time, or as soon as `signal` aborts. Never keeps a process alive. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The machine's clock. `now` reads `Date.now` at each call, so a test that fakes `Date` moves it too. */
export const systemClock: SimulatorClock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  wait(ms, signal) {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

interface ManualTimer {
  at: number;
  /** Set for `every`: the timer comes back this much later each time it fires. */
  period?: number;
  fire: () => void;
}

/**
 * A clock that stands still until told to move: `advance(ms)` fires, in time order and synchronously, every timer
 * that falls due on the way (an `every` timer as many times as its period fits), the clock reading each timer's time
 * as it fires.
 *
 * ```ts
 * const clock = new ManualClock();
 * const gms = new GmsSimulator({ clock, flexDisconnectSeconds: 45 });
 * clock.advance(45_000); // a client silent since its last request is removed now
 * ```
 */
export class ManualClock implements SimulatorClock {
  private time: number;
  private timers: ManualTimer[] = [];
  /** Waiting for timers to be set: told each time one is, so that nothing polls. */
  private readonly timerWaiters = new Set<() => void>();

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): () => void {
    if (!(ms > 0)) throw new Error('ManualClock.every needs a period above 0 ms');
    const timer: ManualTimer = { at: this.time + ms, period: ms, fire: fn };
    this.timers.push(timer);
    return () => this.remove(timer);
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: ManualTimer = {
        at: this.time + Math.max(0, ms),
        fire: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        this.remove(timer);
        resolve();
      };
      this.timers.push(timer);
      signal?.addEventListener('abort', abort, { once: true });
      for (const waiter of [...this.timerWaiters]) waiter();
    });
  }

  /** Moves the clock `ms` forward, firing each timer at its time on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error('ManualClock.advance needs 0 ms or more');
    const until = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers) if (timer.at <= until && (!next || timer.at < next.at)) next = timer;
      if (!next) break;
      this.time = next.at;
      if (next.period) next.at += next.period;
      else this.remove(next);
      next.fire();
    }
    this.time = until;
  }

  /** How far ahead each timer set and not yet fired is due, soonest first (an `every` timer: its next time). */
  /** Resolves once at least `count` timers are pending: a delayed request has started waiting on this clock. */
  untilPending(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.timers.length < count) return;
        this.timerWaiters.delete(check);
        resolve();
      };
      this.timerWaiters.add(check);
      check();
    });
  }

  pending(): number[] {
    return this.timers.map((timer) => timer.at - this.time).sort((a, b) => a - b);
  }

  private remove(timer: ManualTimer): void {
    this.timers = this.timers.filter((other) => other !== timer);
  }
}
