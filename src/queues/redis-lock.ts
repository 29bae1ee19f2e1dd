import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { HeldLease, keepLease } from './lease';
import { RedisConnection } from './redis-connection';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
// Renews the lock when this holder has it (1), takes it when free (2), or reports another holder (0).
const RENEW_OR_TAKE = `local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;
// KEYS: lock, mark. Takes the lock (and drops a mark left by a holder that died): 1. Otherwise leaves a mark for
// the holder: 2 when this call set it, 0 when it was set already.
const ENTER = `
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then redis.call('del', KEYS[2]) return 1 end
if redis.call('set', KEYS[2], '1', 'PX', ARGV[3], 'NX') then return 2 end
return 0`;
// KEYS: lock, mark. The holder leaves: when marked meanwhile it keeps the lock and consumes the mark (1: run again),
// otherwise it releases the lock (0). -1: the lock was no longer this holder's.
const LEAVE = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('del', KEYS[2]) == 1 then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
redis.call('del', KEYS[1])
return 0`;

/** How `coalesce` went for its caller. */
export type CoalesceOutcome =
  /** This call held the lock and ran the work (once, plus once per mark left meanwhile). */
  | 'ran'
  /** Another holder was running it; this call left the first mark, so the holder runs the work again. */
  | 'marked'
  /** Another holder was running it and already had a mark; nothing more to do. */
  | 'coalesced';

/**
 * Short-lived mutual exclusion between workers in Redis (one relay drain per escalation, one inbound pass per
 * gateway, one poller per shard, one reconcile or retention run), the service's one lock: a holder keeps it with
 * `keepLease` or, for a lock renewed on its own rhythm, `renewOrTake`. A lock lost to a Redis flush only risks a
 * duplicate attempt, which every step tolerates.
 */
@Injectable()
export class RedisLock {
  constructor(private readonly redis: RedisConnection) {}

  async acquire(name: string, ttlMs: number): Promise<string | null> {
    const token = randomUUID();
    const ok = await this.redis.client.set(this.redis.key('lock', name), token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? token : null;
  }

  async release(name: string, token: string): Promise<void> {
    await this.redis.client.eval(RELEASE, 1, this.redis.key('lock', name), token).catch(() => undefined);
  }

  /**
   * For a holder that renews on its own rhythm (a poll shard, every tick) rather than on a timer: renews the lock
   * when `holder` has it, takes it when it is free. Answers `renewed`, `taken`, or `held` by another.
   */
  async renewOrTake(name: string, holder: string, ttlMs: number): Promise<'renewed' | 'taken' | 'held'> {
    const outcome = Number(await this.redis.client.eval(RENEW_OR_TAKE, 1, this.redis.key('lock', name), holder, String(ttlMs)));
    return outcome === 1 ? 'renewed' : outcome === 2 ? 'taken' : 'held';
  }

  /**
   * Runs `fn` under the lock like `withLock`, for work that drains whatever is pending ("deliver this conversation's
   * events"). A call that finds the work running does not wait or poll: it leaves a mark, and the holder runs `fn`
   * once more before it lets go, so whatever made the caller call is seen. Marking and leaving are atomic in Redis,
   * so a mark cannot fall between the holder's last run and its release; any number of calls during one run cost
   * one more run. A holder that dies leaves its lock to expire after `ttlMs`: so the caller that sets the mark also
   * calls `retryAfter` with a delay past that (scheduling a job to try again), in case the holder never runs.
   * `moreHere` tells of triggers within this process (see `InProcessPasses`): while it answers true, the holder runs `fn`
   * again still holding the lock, without the two Redis round trips of leaving and entering, unless a renewal found
   * the lock no longer its own.
   */
  async coalesce(
    name: string,
    ttlMs: number,
    fn: () => Promise<unknown>,
    retryAfter: (delayMs: number) => Promise<unknown>,
    moreHere: () => boolean = () => false,
  ): Promise<CoalesceOutcome> {
    const token = randomUUID();
    const key = this.redis.key('lock', name);
    const mark = this.redis.key('lock', name, 'again');
    const entered = Number(await this.redis.client.eval(ENTER, 2, key, mark, token, String(ttlMs), String(ttlMs * 6)));
    if (entered === 2) await retryAfter(ttlMs + 1_000);
    if (entered !== 1) return entered === 2 ? 'marked' : 'coalesced';
    // Released by LEAVE below, or at once on a failure, so that the job's retry (or anyone else) can take over.
    let leaving = false;
    const held = this.keep(name, token, ttlMs, () => (leaving ? Promise.resolve() : this.release(name, token)));
    try {
      do await fn();
      while ((!held.lost && moreHere()) || Number(await this.redis.client.eval(LEAVE, 2, key, mark, token, String(ttlMs))) === 1);
      leaving = true;
      return 'ran';
    } finally {
      await held.release();
    }
  }

  /**
   * Runs `fn` holding the lock, renewing it every third of its TTL; reports `ran: false` without running it when
   * someone else holds it. The TTL is short so a killed worker's lock frees itself within seconds.
   */
  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const token = await this.acquire(name, ttlMs);
    if (!token) return { ran: false };
    const held = this.keep(name, token, ttlMs, () => this.release(name, token));
    try {
      return { ran: true, value: await fn() };
    } finally {
      await held.release();
    }
  }

  /** Keeps a lock this call took (see `keepLease`); `release` is what giving it back means for the caller. */
  private keep(name: string, token: string, ttlMs: number, release: () => Promise<void>): HeldLease {
    const key = this.redis.key('lock', name);
    return keepLease({ renew: async () => Number(await this.redis.client.eval(EXTEND, 1, key, token, String(ttlMs))) === 1, release }, ttlMs);
  }
}
