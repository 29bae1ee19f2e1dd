import { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app.factory';
import { AppOptions } from '../../src/core.module';
import { AppLogger } from '../../src/common/app-logger';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { ensureDatabase, migrate } from '../../src/database/database';
export { freePort } from '@app/simulators/http/simulator-http';

export const ADMIN_KEY = process.env.BOOTSTRAP_API_KEY!;

/** Empties every table and this worker's Redis keys, so a suite starts from a first boot. */
export async function resetState(): Promise<void> {
  const url = process.env.DATABASE_URL!;
  await ensureDatabase(url);
  await migrate(url);
  await withDatabase(async (client) => {
    const { rows } = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
    await client.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
  }, url);
  await flushRedisPrefix();
}

/**
 * Runs `work` on a connection of its own to `url` (this worker's test database by default), closed after it: the
 * session's statistics reach PostgreSQL's shared counters at the latest then.
 */
export async function withDatabase<T>(work: (client: Client) => Promise<T>, url = process.env.DATABASE_URL!): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function flushRedisPrefix(prefix = process.env.REDIS_PREFIX!): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL!);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** fetch against the service with the admin key unless another key (or null for none) is given. */
export type TestRequest = (
  method: string,
  path: string,
  options?: { body?: unknown; key?: string | null; headers?: Record<string, string>; raw?: string; headersOnly?: boolean },
) => Promise<TestResponse>;

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  request: TestRequest;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function startTestApp(overrides: Record<string, string> = {}, options: AppOptions = {}): Promise<TestApp> {
  const config = loadConfig({ ...process.env, ...overrides });
  const app = await createApp(config, new AppLogger(config.LOG_LEVEL), options);
  await app.listen(config.PORT, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    config,
    url,
    request: requestAgainst(url),
    close: () => app.close(),
  };
}

/** Requests against a service at `url`: the in-process test app, or a service running as its own process. */
export function requestAgainst(url: string): TestRequest {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    } else if (options.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    const controller = new AbortController();
    const res = await fetch(url + path, { method, headers, body, signal: controller.signal });
    if (options.headersOnly && res.headers.get('content-type')?.startsWith('text/event-stream')) {
      controller.abort();
      return { status: res.status, headers: res.headers, body: undefined, text: '' };
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
}
