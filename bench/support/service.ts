import { resolve } from 'node:path';
import { resetDemoState } from '../../scripts/demo/service-process';
import { BenchProcess, sleep } from './processes';

const ROOT = resolve(__dirname, '..', '..', '..');

/** Runs the compiled service (dist/src/main.js) as its own process for a benchmark, until /health/ready answers. */
export class BenchService {
  private process?: BenchProcess;

  constructor(private readonly env: Record<string, string>) {}

  get pid(): number {
    return this.process!.pid;
  }

  /** The last lines the service wrote, to explain a failed run. */
  get log(): string {
    return this.process?.log ?? '';
  }

  async start(url: string, timeoutMs = 60_000): Promise<void> {
    // BENCH_SERVICE_ARGS: extra node flags for the service, e.g. `--cpu-prof --cpu-prof-dir /tmp/prof`.
    const flags = (process.env.BENCH_SERVICE_ARGS ?? '').split(' ').filter(Boolean);
    this.process = new BenchProcess('service', [...flags, resolve(ROOT, 'dist/src/main.js')], this.env);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.process.exited) throw new Error(`service exited:\n${this.process.log}`);
      if (await fetch(`${url}/health/ready`).then((r) => r.ok).catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`service did not become ready:\n${this.process.log}`);
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }
}

/** Sends `total` actions at `ratePerSecond`, open loop (no waiting for answers), and waits for them all. */
export async function openLoop(ratePerSecond: number, total: number, action: (i: number) => Promise<void>): Promise<void> {
  const started = process.hrtime.bigint();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const dueNs = started + BigInt(Math.round((i * 1e9) / ratePerSecond));
    const waitMs = Number(dueNs - process.hrtime.bigint()) / 1e6;
    if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
    pending.push(action(i).catch(() => undefined));
  }
  await Promise.all(pending);
}

/** Calls the admin API of the service at `baseUrl` with `key`; a non-2xx answer throws with its body. */
export function adminApi(baseUrl: string, key: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/**
 * A benchmark's clean start: drops its database and deletes its Redis keys (the demo's reset, which does the same),
 * so that what an earlier run left (jobs delayed for an hour, deduplication keys, completed jobs) does not weigh on
 * this one.
 */
export function resetBenchState(database: string, redisPrefix: string, redisUrl = 'redis://127.0.0.1:6379'): Promise<void> {
  return resetDemoState('postgres://postgres@127.0.0.1:5432', database, redisUrl, redisPrefix);
}

/** Runs `work` over `items`, `concurrency` at a time (closed loop: the next starts when one ends). */
export async function pool<T>(items: T[], concurrency: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i], i);
      }
    }),
  );
}
