import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** The service as a separate OS process (compiled on the fly), so a test can kill -9 it like a crashed node. */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly output: string[] = [];

  constructor(private readonly env: Record<string, string>) {}

  async start(readyUrl?: string, timeoutMs = 30_000): Promise<void> {
    this.child = spawn(process.execPath, ['-r', '@swc-node/register', resolve(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...this.env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`service exited early:\n${this.output.join('')}`);
      if (readyUrl) {
        const ok = await fetch(readyUrl).then((r) => r.ok).catch(() => false);
        if (ok) return;
      } else if (this.output.join('').includes('worker started')) {
        return;
      }
      if (Date.now() > deadline) throw new Error(`service did not start in time:\n${this.output.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL: no shutdown hooks, locks and active jobs are left behind as after a crash. Resolves once it is gone. */
  kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return exited;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
