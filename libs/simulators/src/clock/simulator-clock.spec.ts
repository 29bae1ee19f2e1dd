import { ManualClock } from './simulator-clock';

describe('ManualClock', () => {
  it('fires the timers due on the way, in time order, reading each one its own time', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    const stop = clock.every(300, () => fired.push(`every@${clock.now()}`));
    void clock.wait(500);
    clock.advance(299);
    expect(fired).toEqual([]);
    expect(clock.pending()).toEqual([1, 201]);
    clock.advance(700);
    expect(fired).toEqual(['every@1300', 'every@1600', 'every@1900']);
    expect(clock.now()).toBe(1_999);
    stop();
    clock.advance(10_000);
    expect(fired).toHaveLength(3);
    expect(clock.pending()).toEqual([]);
  });

  it('resolves a wait once its time has come, or at once when its signal aborts', async () => {
    const clock = new ManualClock();
    let done = false;
    const waited = clock.wait(100).then(() => (done = true));
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await waited;
    expect(done).toBe(true);

    const abort = new AbortController();
    const aborted = clock.wait(60_000, abort.signal);
    expect(clock.pending()).toEqual([60_000]);
    abort.abort();
    await aborted;
    expect(clock.pending()).toEqual([]);
  });
});
