import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  it('shares one load among concurrent callers and keeps it for the period', async () => {
    const cache = new TtlCache<number>(60_000);
    let loads = 0;
    const load = () => new Promise<number>((resolve) => setTimeout(() => resolve(++loads), 5));
    expect(await Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)])).toEqual([1, 1, 1]);
    expect(await cache.get('k', load)).toBe(1);
    expect(loads).toBe(1);
  });

  it('loads again once the period is over', async () => {
    // The cache reads Date.now: set to each moment instead of sleeping past a period.
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      const cache = new TtlCache<number>(60_000);
      let loads = 0;
      await cache.get('k', async () => ++loads);
      now.mockReturnValue(1_059_999);
      expect(await cache.get('k', async () => ++loads)).toBe(1);
      now.mockReturnValue(1_060_000);
      expect(await cache.get('k', async () => ++loads)).toBe(2);
    } finally {
      now.mockRestore();
    }
  });

  it('forgets a failed load at once, so the next caller tries again', async () => {
    const cache = new TtlCache<string>(60_000);
    await expect(cache.get('k', () => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    expect(await cache.get('k', async () => 'loaded')).toBe('loaded');
  });

  it('keeps a value set without loading', async () => {
    const cache = new TtlCache<string>(60_000);
    cache.set('k', 'written');
    expect(await cache.get('k', async () => 'loaded')).toBe('written');
  });
});
