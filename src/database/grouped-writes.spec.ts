import { GroupedWrites } from './grouped-writes';

describe('GroupedWrites', () => {
  it('writes a call alone when nothing is in flight and groups the calls that wait, within the bounds', async () => {
    const statements: number[][] = [];
    const grouped = new GroupedWrites<number, number>(
      async (inputs) => {
        statements.push(inputs);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return inputs.map((n) => n * 10);
      },
      { maxInFlight: 1, maxItems: 3, maxSize: 10, sizeOf: (n) => n },
    );
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 20].map((n) => grouped.submit(n)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 200]);
    // 1 alone; then at most three calls and a size of 10 per statement; 20 is over the size and goes alone.
    expect(statements).toEqual([[1], [2, 3, 4], [5], [6], [20]]);
  });

  it('tries the calls of a failed statement one by one, so only the refused one fails', async () => {
    const grouped = new GroupedWrites<string, string>(
      async (inputs) => {
        if (inputs.includes('bad')) throw new Error(`refused ${inputs.join(',')}`);
        return inputs.map((s) => s.toUpperCase());
      },
      { maxInFlight: 1, maxItems: 10 },
    );
    const first = grouped.submit('a');
    const rest = ['b', 'bad', 'c'].map((s) => grouped.submit(s).catch((error: Error) => error.message));
    expect(await first).toBe('A');
    expect(await Promise.all(rest)).toEqual(['B', 'refused bad', 'C']);
  });
});
