import { IncomingMessage, Server } from 'node:http';

/**
 * Preloaded (`node -r`) into the stand-alone GMS simulator by bench/polling.bench.ts, so lateness is measured where
 * GMS would see it, without touching the simulator's code. It notes the arrival time of every Refresh per chat and,
 * between `start` and `stop` over IPC, keeps the gap since the same chat's previous Refresh. Cost: one Map lookup
 * and one array write per request.
 */

export interface RefreshWindowStats {
  type: 'stats';
  windowMs: number;
  refreshes: number;
  chats: number;
  /** Percentiles of the gap between consecutive Refresh requests of one chat, in ms. */
  gap: { p50: number; p90: number; p99: number; max: number };
  /** Percentiles of max(0, gap - intervalMs). */
  lateness: { p50: number; p90: number; p99: number; max: number };
  /** Gaps longer than twice the interval. */
  gapsOverTwice: number;
  /** TCP connections the simulator accepted during the window (keep-alive reuse shows as few). */
  connections: number;
}

const last = new Map<string, number>();
let gaps = new Float64Array(1 << 16);
let gapCount = 0;
let refreshes = 0;
let windowStart = 0;
let inWindow = false;
let connections = 0;
const chats = new Set<string>();

function note(url: string): void {
  const end = url.lastIndexOf('/refresh');
  if (end < 0 || end + 8 !== url.length) return;
  const chatId = url.slice(url.lastIndexOf('/', end - 1) + 1, end);
  const now = performance.timeOrigin + performance.now();
  const previous = last.get(chatId);
  last.set(chatId, now);
  if (!inWindow) return;
  refreshes++;
  chats.add(chatId);
  if (previous === undefined) return;
  if (gapCount === gaps.length) {
    const bigger = new Float64Array(gaps.length * 2);
    bigger.set(gaps);
    gaps = bigger;
  }
  gaps[gapCount++] = now - previous;
}

const emit = Server.prototype.emit;
Server.prototype.emit = function patchedEmit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'connection' && inWindow) connections++;
  if (event === 'request') {
    const request = args[0] as IncomingMessage;
    if (request.method === 'POST' && request.url) note(request.url);
  }
  return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
} as typeof Server.prototype.emit;

const pick = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

function stats(intervalMs: number): RefreshWindowStats {
  const sorted = gaps.slice(0, gapCount).sort();
  const late = sorted.map((gap) => Math.max(0, gap - intervalMs));
  return {
    type: 'stats',
    windowMs: performance.timeOrigin + performance.now() - windowStart,
    refreshes,
    chats: chats.size,
    gap: { p50: pick(sorted, 50), p90: pick(sorted, 90), p99: pick(sorted, 99), max: pick(sorted, 100) },
    lateness: { p50: pick(late, 50), p90: pick(late, 90), p99: pick(late, 99), max: pick(late, 100) },
    gapsOverTwice: sorted.reduce((n, gap) => (gap > 2 * intervalMs ? n + 1 : n), 0),
    connections,
  };
}

if (process.send) {
  process.on('message', (message: { cmd?: string; intervalMs?: number }) => {
    switch (message?.cmd) {
      case 'start':
        gapCount = 0;
        refreshes = 0;
        connections = 0;
        chats.clear();
        windowStart = performance.timeOrigin + performance.now();
        inWindow = true;
        process.send!({ type: 'started' });
        break;
      case 'stop':
        inWindow = false;
        process.send!(stats(message.intervalMs ?? 1000));
        break;
      case 'forget':
        last.clear();
        process.send!({ type: 'forgotten' });
        break;
    }
  });
}
