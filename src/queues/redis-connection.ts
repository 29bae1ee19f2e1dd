import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis, RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';

/** ioredis options for BullMQ and our own commands: one config, `maxRetriesPerRequest: null` as BullMQ workers need. */
export function redisOptions(config: AppConfig): RedisOptions {
  const url = new URL(config.REDIS_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username || undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
  };
}

/** A shared Redis client for locks and health checks (queues get their own connections from BullMQ). */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(private readonly config: AppConfig) {
    // Auto-pipelining: the lock commands of many jobs issued in one tick go to Redis in one write.
    this.client = new Redis({ ...redisOptions(config), lazyConnect: false, enableAutoPipelining: true });
    this.client.on('error', () => undefined);
  }

  key(...parts: string[]): string {
    return [this.config.REDIS_PREFIX, ...parts].join(':');
  }

  async onApplicationShutdown(): Promise<void> {
    // quit() waits for a reply that never comes while Redis is unreachable.
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    await Promise.race([this.client.quit(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]).catch(() => undefined);
    this.client.disconnect();
  }
}
