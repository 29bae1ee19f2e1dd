import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { resolve } from 'node:path';
import { execSync } from 'node:child_process';

const FILE = resolve(__dirname, '..', '..', '..', 'docs', 'benchmarks.md');

/** One line describing the machine and the software versions, for every result section. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const version = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return [
    `${new Date().toISOString().slice(0, 10)}`,
    `${cpus().length} cores (${cpu})`,
    `${Math.round(totalmem() / 2 ** 30)} GiB`,
    `Linux ${release()}`,
    `Node ${process.version}`,
    // Autovacuum decides how far a table updated on every event bloats between vacuums (CONVERSATIONS_VACUUM_DEAD_ROWS).
    `PostgreSQL ${version("psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version' postgres")} (autovacuum ${version("psql -h 127.0.0.1 -U postgres -Atc 'SHOW autovacuum' postgres")})`,
    `Redis ${version("redis-cli -h 127.0.0.1 INFO server | grep redis_version | cut -d: -f2")}`,
  ].join(', ');
}

/**
 * Replaces the section of docs/benchmarks.md between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`.
 * BENCH_NO_REPORT=1 leaves the file alone (trial runs, profiling).
 */
export function writeSection(name: string, markdown: string): void {
  if (process.env.BENCH_NO_REPORT) return;
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const current = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const next = current.includes(start)
    ? current.slice(0, current.indexOf(start)) + block + current.slice(current.indexOf(end) + end.length)
    : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, next);
}

/** Percentile of a numeric sample (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** CPU seconds used by a process since `since` (from /proc), for per-process CPU figures. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}
