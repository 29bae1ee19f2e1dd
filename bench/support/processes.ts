import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { processCpuSeconds } from './report';
export { freePort } from '../../libs/simulators/src/http/simulator-http';

const started = new Set<BenchProcess>();
let hooked = false;

/** Kills every child this benchmark started (by its own pid), on any exit path. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const child of started) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A Node child process of the benchmark, with its output kept for error messages and for reading its first lines. */
export class BenchProcess {
  readonly child: ChildProcess;
  private output = '';

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string>,
    options: { ipc?: boolean } = {},
  ) {
    hookExit();
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, ...env } as NodeJS.ProcessEnv,
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    started.add(this);
    const keep = (chunk: Buffer) => {
      // The last 64 KiB are enough to explain a failure.
      this.output = (this.output + chunk.toString()).slice(-65_536);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.once('exit', () => started.delete(this));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get log(): string {
    return this.output;
  }

  /** Resolves with the first match of `pattern` in the output, failing on exit or after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.exited) throw new Error(`${this.name} exited early:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(50);
    }
  }

  /** Sends one IPC message and resolves with the first answer of type `replyType` (bounded in time). */
  request<T>(message: Record<string, unknown>, replyType: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onMessage = (reply: { type?: string }) => {
        if (reply?.type !== replyType) return;
        cleanup();
        resolve(reply as T);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${this.name} exited while waiting for ${replyType}:\n${this.output}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no ${replyType} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(message);
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(graceMs)]);
    if (!this.exited) {
      this.child.kill('SIGKILL');
      await Promise.race([exited, sleep(2_000)]);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Pids of every process whose command name is `comm` (e.g. all PostgreSQL backends), empty when /proc hides them. */
export function pidsByName(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU seconds per pid (pids that vanished are left out). */
export function cpuByPid(pids: number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const pid of pids) {
    try {
      result.set(pid, processCpuSeconds(pid));
    } catch {
      // gone meanwhile
    }
  }
  return result;
}

/**
 * CPU seconds a group of processes used between two snapshots. A process born in between counts from zero; one that
 * ended in between is lost (PostgreSQL backends of a pooled service live as long as the pool).
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** Busy and total jiffies of the whole machine (/proc/stat), for the share of all cores in use. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((sum, v) => sum + v, 0);
  return { busy: total - idle, total };
}
