import { InProcessPasses } from './in-process-passes';

describe('InProcessPasses', () => {
  it('runs once more for any number of triggers during a run, per key', async () => {
    const runs: string[] = [];
    let release!: () => void;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const passes = new InProcessPasses(
      async (key) => {
        runs.push(key);
        if (key === 'a') await gate;
      },
      async () => undefined,
    );
    passes.trigger('a');
    passes.trigger('a');
    passes.trigger('a');
    passes.trigger('b');
    expect(runs).toEqual(['a', 'b']);
    gate = Promise.resolve();
    release();
    await passes.close();
    expect(runs).toEqual(['a', 'b', 'a']);
  });

  it('hands a failed run to onFailure and takes the key again afterwards', async () => {
    const failed: string[] = [];
    let fail = true;
    let runs = 0;
    const passes = new InProcessPasses(
      async () => {
        runs++;
        if (fail) throw new Error('database gone');
      },
      async (key, error) => void failed.push(`${key}: ${(error as Error).message}`),
    );
    passes.trigger('k');
    await passes.close();
    expect(failed).toEqual(['k: database gone']);
    expect(passes.open).toBe(false);
    fail = false;
    passes.trigger('k');
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(2);
  });

  it('lets a run take the triggers that came while it ran, so that they cost no further run', async () => {
    const seen: boolean[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const passes = new InProcessPasses(
      async (_key, again) => {
        runs++;
        if (runs > 1) return;
        await gate;
        seen.push(again(), again());
      },
      async () => undefined,
    );
    passes.trigger('k');
    passes.trigger('k');
    release();
    await passes.close();
    // Taken once (the second ask finds none), and the run it was taken by was the only one.
    expect(seen).toEqual([true, false]);
    expect(runs).toBe(1);
  });
});
