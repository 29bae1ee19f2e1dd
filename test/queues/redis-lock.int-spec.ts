import { loadConfig } from '../../src/config/app-config';
import { RedisConnection } from '../../src/queues/redis-connection';
import { CoalesceOutcome, RedisLock } from '../../src/queues/redis-lock';
import { waitFor } from '../support/bot-receiver';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A gate a test opens by hand, to hold a drain in the middle of its work. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** The coalescing lock the drains of deliveries, inbound webhooks and relays run under, on a real Redis. */
describe('RedisLock.coalesce', () => {
  let redis: RedisConnection;
  let lock: RedisLock;
  let n = 0;
  let name: string;

  beforeAll(() => {
    redis = new RedisConnection(loadConfig());
    lock = new RedisLock(redis);
  });
  afterAll(() => redis.onApplicationShutdown());
  /** The delays the caller that left a mark was asked to try again after. */
  let retries: number[];
  beforeEach(() => {
    name = `coalesce-test-${process.pid}-${++n}`;
    retries = [];
  });
  const coalesce = (ttlMs: number, fn: () => Promise<unknown>) => lock.coalesce(name, ttlMs, fn, async (delayMs) => void retries.push(delayMs));

  it('runs the work once more for all the calls that came while it ran, instead of once per call', async () => {
    const held = gate();
    const running = gate();
    let runs = 0;
    const first = coalesce(5_000, async () => {
      runs++;
      if (runs === 1) {
        running.open();
        await held.opened;
      }
    });
    // The first call holds the lock and is in its work.
    await running.opened;
    const others = await Promise.all([1, 2, 3, 4].map(() => coalesce(5_000, async () => void runs++)));
    // The first caller to find the work running leaves the mark; the others find it there.
    expect(others).toEqual(['marked', 'coalesced', 'coalesced', 'coalesced']);
    held.open();
    expect(await first).toBe('ran');
    expect(runs).toBe(2);
    // Free again: the next call runs the work itself, once.
    expect(await coalesce(5_000, async () => void runs++)).toBe('ran');
    expect(runs).toBe(3);
  });

  it('sees what a caller wrote just before it called, however the call and the end of the run interleave', async () => {
    // A drain of a list: callers push then call, in bursts; after each burst nothing may be left behind. A lock that
    // turned a busy caller away would leave the items pushed after the holder's last look (the tail of a burst).
    const pending: number[] = [];
    const taken: number[] = [];
    const drain = async () => {
      await tick(1 + Math.random() * 2);
      taken.push(...pending.splice(0));
      await tick(2 + Math.random() * 3);
    };
    let next = 0;
    let runs = 0;
    let calls = 0;
    for (let burst = 0; burst < 25; burst++) {
      const inFlight: Promise<CoalesceOutcome>[] = [];
      for (let i = 0; i < 6; i++) {
        pending.push(next++);
        inFlight.push(coalesce(5_000, drain));
        await tick(Math.random() * 2);
      }
      const outcomes = await Promise.all(inFlight);
      calls += outcomes.length;
      runs += outcomes.filter((outcome) => outcome === 'ran').length;
      expect(pending).toEqual([]);
    }
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
    // It coalesced: fewer runs than calls.
    expect(runs).toBeLessThan(calls);
  });

  it('lets go when the work fails, so that a retry runs at once', async () => {
    await expect(
      coalesce(5_000, async () => {
        throw new Error('database down');
      }),
    ).rejects.toThrow('database down');
    let ran = false;
    expect(await coalesce(5_000, async () => void (ran = true))).toBe('ran');
    expect(ran).toBe(true);
  });

  it("takes over a dead holder's lock once it has run out, and drops the holder's mark", async () => {
    // A holder that died: its lock (and a mark left for it) stay in Redis until the lock's TTL.
    await redis.client.set(redis.key('lock', name), 'dead-holder', 'PX', 300);
    expect(await coalesce(300, async () => undefined)).toBe('marked');
    // In case the holder never comes back: a try after its lock has run out.
    expect(retries).toEqual([1_300]);
    await waitFor("the dead holder's lock run out", async () => (await redis.client.exists(redis.key('lock', name))) === 0);
    let runs = 0;
    expect(await coalesce(300, async () => void runs++)).toBe('ran');
    expect(runs).toBe(1);
    expect(await redis.client.exists(redis.key('lock', name), redis.key('lock', name, 'again'))).toBe(0);
  });

  it('runs again for triggers of its own process still holding the lock, and lets go once they stop', async () => {
    const key = redis.key('lock', name);
    const holders: (string | null)[] = [];
    let asked = 0;
    // Two more runs asked for in this process, then none.
    const moreHere = () => ++asked <= 2;
    const outcome = await lock.coalesce(name, 5_000, async () => void holders.push(await redis.client.get(key)), async () => undefined, moreHere);
    expect(outcome).toBe('ran');
    // One holder throughout: the lock was neither let go nor taken again between the runs.
    expect(holders).toHaveLength(3);
    expect(new Set(holders).size).toBe(1);
    expect(holders[0]).not.toBeNull();
    expect(await redis.client.exists(key)).toBe(0);
  });

  it('does not run again on its own triggers once a renewal found the lock gone', async () => {
    // Observed, not replaced: what each renewal of the lock (the EXTEND script) answered.
    const renewals: unknown[] = [];
    const evaluate = redis.client.eval.bind(redis.client) as (...args: unknown[]) => Promise<unknown>;
    const spy = jest.spyOn(redis.client, 'eval').mockImplementation((async (...args: unknown[]) => {
      const answer = await evaluate(...args);
      if (String(args[0]).includes("return redis.call('pexpire'")) renewals.push(answer);
      return answer;
    }) as never);
    let runs = 0;
    try {
      const outcome = lock.coalesce(
        name,
        300,
        async () => {
          runs++;
          // The lock vanishes (a Redis flush) and a renewal (every 100 ms here) finds it gone.
          await redis.client.del(redis.key('lock', name));
          await waitFor('a renewal that found the lock gone', () => renewals.includes(0));
        },
        async () => undefined,
        () => true,
      );
      await expect(outcome).resolves.toBe('ran');
    } finally {
      spy.mockRestore();
    }
    expect(runs).toBe(1);
  });
});
