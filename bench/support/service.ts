import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');

/** Runs the compiled service (dist/src/main.js) as its own process for a benchmark. */
export class BenchService {
  private child?: ChildProcess;
  private log = '';

  constructor(private readonly env: Record<string, string>) {}

  get pid(): number {
    return this.child!.pid!;
  }

  async start(url: string, timeoutMs = 60_000): Promise<void> {
    // BENCH_CPU_PROF=dir writes a V8 CPU profile of the service there when it stops (for finding where time goes).
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    this.child = spawn(process.execPath, [...profile, resolve(ROOT, 'dist/src/main.js')], { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.log = (this.log + c.toString()).slice(-20_000)));
    this.child.stderr!.on('data', (c: Buffer) => (this.log = (this.log + c.toString()).slice(-20_000)));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`service exited:\n${this.log}`);
      if (await fetch(`${url}/health/ready`).then((r) => r.ok).catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`service did not become ready:\n${this.log}`);
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
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
