import { keepLease, LeaseStore } from './lease';

/** A lease store that answers each renewal from a script (true: still ours) and counts what it was asked. */
function scriptedStore(answers: (() => Promise<boolean>)[] = []) {
  const store = {
    renewals: 0,
    releases: 0,
    renew: jest.fn((): Promise<boolean> => {
      const answer = answers[store.renewals] ?? (() => Promise.resolve(true));
      store.renewals += 1;
      return answer();
    }),
    release: jest.fn(async () => {
      store.releases += 1;
    }),
  };
  return store satisfies LeaseStore;
}

describe('keepLease', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('renews the lease every third of its term while it is held', async () => {
    const store = scriptedStore();
    const lease = keepLease(store, 9_000);
    await jest.advanceTimersByTimeAsync(2_999);
    expect(store.renewals).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.renewals).toBe(1);
    await jest.advanceTimersByTimeAsync(6_000);
    expect(store.renewals).toBe(3);
    expect(lease.lost).toBe(false);
    await lease.release();
  });

  it('renews a very short lease no more often than every 100 ms', async () => {
    const store = scriptedStore();
    const lease = keepLease(store, 90);
    await jest.advanceTimersByTimeAsync(99);
    expect(store.renewals).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.renewals).toBe(1);
    await lease.release();
  });

  it("reports the lease lost once a renewal finds it no longer this holder's", async () => {
    const store = scriptedStore([() => Promise.resolve(true), () => Promise.resolve(false)]);
    const lease = keepLease(store, 3_000);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(lease.lost).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(lease.lost).toBe(true);
    // A later renewal that answers true does not make a lost lease ours again: another holder may be working.
    await jest.advanceTimersByTimeAsync(1_000);
    expect(lease.lost).toBe(true);
    await lease.release();
  });

  it('does not count a renewal that failed to reach the store as a loss', async () => {
    const store = scriptedStore([() => Promise.reject(new Error('store unreachable'))]);
    const lease = keepLease(store, 3_000);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(store.renewals).toBe(1);
    expect(lease.lost).toBe(false);
    await lease.release();
  });

  it('stops renewing and gives the lease back when released', async () => {
    const store = scriptedStore();
    const lease = keepLease(store, 3_000);
    await jest.advanceTimersByTimeAsync(1_000);
    await lease.release();
    expect(store.releases).toBe(1);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(store.renewals).toBe(1);
  });
});
