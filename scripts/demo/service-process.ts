import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
export { freePort } from '@app/simulators/http/simulator-http';

/** Environment of the demo's service process (on top of the caller's environment). */
export interface DemoServiceEnv {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  port: number;
  apiKey: string;
  secretsKey: string;
}

/** The compiled entry point; the demo runs from dist/scripts/demo/, next to dist/src/. */
const MAIN = resolve(__dirname, '..', '..', 'src', 'main.js');

/**
 * The service as its own OS process (`node dist/src/main.js`, API and worker in one), exactly as an operator runs it.
 * Its log (LOG_LEVEL warn) is kept and shown when something fails.
 */
export class DemoServiceProcess {
  private child?: ChildProcess;
  private log: string[] = [];
  onOutput?: (text: string) => void;

  constructor(private readonly env: DemoServiceEnv) {}

  get url(): string {
    return `http://127.0.0.1:${this.env.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs: number): Promise<void> {
    this.child = spawn(process.execPath, ['--enable-source-maps', MAIN], {
      env: {
        ...process.env,
        APP_ROLE: 'all',
        PORT: String(this.env.port),
        PUBLIC_BASE_URL: this.url,
        DATABASE_URL: this.env.databaseUrl,
        REDIS_URL: this.env.redisUrl,
        REDIS_PREFIX: this.env.redisPrefix,
        SECRETS_KEY: this.env.secretsKey,
        BOOTSTRAP_API_KEY: this.env.apiKey,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        FAKE_GATEWAY_ENABLED: 'false',
        DOCS_UI_ENABLED: 'true',
        LOG_LEVEL: 'warn',
        // GMS chats are polled on a 100 ms tick, so the demo's polling interval (0.25 s) is what sets the pace.
        POLL_TICK_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.log.push(text);
      if (this.log.length > 400) this.log.splice(0, this.log.length - 400);
      this.onOutput?.(text);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`the service exited with code ${this.child.exitCode}:\n${this.output()}`);
      const ready = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2_000) })
        .then((response) => response.ok)
        .catch(() => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms:\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  output(): string {
    return this.log.join('').trimEnd();
  }

  /** SIGTERM (graceful shutdown), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** For `process.on('exit')`: no waiting possible there, so the child is killed outright if it still runs. */
  killNow(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * Removes the demo's state: its database (the service recreates and migrates a missing one) and its Redis keys.
 * Either may be left out (undefined).
 */
export async function resetDemoState(postgresUrl: string, database: string | undefined, redisUrl: string, redisPrefix: string | undefined): Promise<void> {
  if (database !== undefined) {
    const client = new Client({ connectionString: `${postgresUrl}/postgres`, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
  if (redisPrefix === undefined) return;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
