import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisConnection } from './redis-connection';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Short-lived mutual exclusion between workers (one relay drain per escalation, one delivery drain per conversation,
 * one poller per shard). A lock lost to a Redis flush only risks a duplicate attempt, which every step tolerates.
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
   * Runs `fn` holding the lock, renewing it every third of its TTL; reports `ran: false` without running it when
   * someone else holds it. The TTL is short so a killed worker's lock frees itself within seconds.
   */
  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const token = await this.acquire(name, ttlMs);
    if (!token) return { ran: false };
    const key = this.redis.key('lock', name);
    const renewal = setInterval(() => {
      void this.redis.client.eval(EXTEND, 1, key, token, String(ttlMs)).catch(() => undefined);
    }, Math.max(100, Math.floor(ttlMs / 3)));
    renewal.unref();
    try {
      return { ran: true, value: await fn() };
    } finally {
      clearInterval(renewal);
      await this.release(name, token);
    }
  }
}
