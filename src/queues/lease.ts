/**
 * A lease this process holds on something others may want (a lock in Redis, a claim column in PostgreSQL): kept by
 * renewing it every third of its term until released. `lost` turns true once a renewal finds it no longer this
 * holder's (it expired and was taken); the holder stops before its next step, since another may be doing it.
 */
export interface HeldLease {
  readonly lost: boolean;
  /** Stops renewing and gives the lease back (when it is still this holder's). */
  release(): Promise<void>;
}

/** What a lease is kept in: each call answers whether the lease is (still) this holder's. */
export interface LeaseStore {
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Keeps a lease that was just taken: renews it every third of `termMs` (at least every 100 ms) until released. A
 * renewal that fails for a moment (the store unreachable) is not a loss; one that finds the lease gone is.
 */
export function keepLease(store: LeaseStore, termMs: number): HeldLease {
  let lost = false;
  const renewal = setInterval(() => {
    store.renew().then(
      (kept) => {
        if (!kept) lost = true;
      },
      () => undefined,
    );
  }, Math.max(100, Math.floor(termMs / 3)));
  renewal.unref();
  return {
    get lost() {
      return lost;
    },
    release: async () => {
      clearInterval(renewal);
      await store.release();
    },
  };
}
