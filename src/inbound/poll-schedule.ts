import { PlatformSession } from '@app/gateway-sdk';
import type { PollRow } from '../escalations/escalations.repository';

export type { PollRow };

/** Min-heap of (due time, escalation id): the next chat to poll is always on top. */
export class DueHeap {
  private readonly due: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.due.length;
  }

  /** Due time of the top entry (Infinity when empty). */
  peek(): number {
    return this.due.length ? this.due[0] : Infinity;
  }

  topId(): string {
    return this.ids[0];
  }

  push(due: number, id: string): void {
    let i = this.due.length;
    this.due.push(due);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.due[parent] <= due) break;
      this.due[i] = this.due[parent];
      this.ids[i] = this.ids[parent];
      i = parent;
    }
    this.due[i] = due;
    this.ids[i] = id;
  }

  pop(): void {
    const lastDue = this.due.pop()!;
    const lastId = this.ids.pop()!;
    const n = this.due.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const child = left + 1 < n && this.due[left + 1] < this.due[left] ? left + 1 : left;
      if (this.due[child] >= lastDue) break;
      this.due[i] = this.due[child];
      this.ids[i] = this.ids[child];
      i = child;
    }
    this.due[i] = lastDue;
    this.ids[i] = lastId;
  }

  clear(): void {
    this.due.length = 0;
    this.ids.length = 0;
  }
}

/**
 * What one worker knows about a shard it holds the lease of: the shard's chats (re-read every tick), when each was
 * last polled, when each is due next, and which are being polled right now. Dropped when the lease is.
 */
export class ShardSchedule {
  /** Local time until which this worker may poll the shard (the lease's expiry, less a safety margin). */
  leaseUntil = 0;
  acquiredAt = 0;
  rows = new Map<string, PollRow>();
  readonly lastPolled = new Map<string, number>();
  /** The due time each scheduled chat is queued under; heap entries that disagree are stale and skipped. */
  readonly dueAt = new Map<string, number>();
  readonly heap = new DueHeap();
  readonly busy = new Set<string>();
  /** Chats whose row changed through a poll since it was read (id -> when); re-read before their next poll. */
  readonly dirty = new Map<string, number>();
  readonly sessions = new Map<string, { enc: string; session: PlatformSession | null }>();
  /** The plan revision of each gateway this shard last scheduled under. */
  readonly planRevisions = new Map<string, number>();
  /** Chats whose last-poll time is not yet written to the Redis hash. */
  readonly unsaved = new Set<string>();
  timer?: NodeJS.Timeout;
  wakeAt = Infinity;
  polled = 0;
  stored = 0;

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = Infinity;
  }

  /** Queues a chat for `due` (replacing any earlier schedule of it). */
  schedule(id: string, due: number): void {
    this.dueAt.set(id, due);
    this.heap.push(due, id);
  }

  /** HSET arguments (id, time, id, time...) of the last-poll times not yet written, which count as written from now. */
  takeUnsaved(): string[] {
    const args: string[] = [];
    for (const id of this.unsaved) {
      const at = this.lastPolled.get(id);
      if (at !== undefined) args.push(id, String(at));
    }
    this.unsaved.clear();
    return args;
  }

  forget(id: string): void {
    this.rows.delete(id);
    this.lastPolled.delete(id);
    this.dueAt.delete(id);
    this.dirty.delete(id);
    this.sessions.delete(id);
    this.unsaved.delete(id);
  }
}

export function sameRow(a: PollRow, b: PollRow): boolean {
  return (
    a.state === b.state &&
    a.cursor === b.cursor &&
    a.session_enc === b.session_enc &&
    a.gateway_id === b.gateway_id &&
    a.conversation_id === b.conversation_id &&
    a.start_attempts === b.start_attempts
  );
}

/**
 * Shard `shard` of `shards` is a range of escalation ids. Ids are random (v4) UUIDs, so ranges are as even as a hash,
 * and the range is an index range scan of the partial `escalations_pollable_idx`, whatever the shard count.
 */
export function shardRange(shard: number, shards: number): { from: string; to: string | null } {
  const bound = (index: number) => {
    const hex = ((BigInt(index) << 128n) / BigInt(shards)).toString(16).padStart(32, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  return { from: bound(shard), to: shard + 1 < shards ? bound(shard + 1) : null };
}

/** A stable offset within the interval, so chats the poller has no last-poll time for are spread, not polled at once. */
export function spreadOffset(id: string, intervalMs: number): number {
  return parseInt(id.replace(/-/g, '').slice(8, 16), 16) % Math.max(1, intervalMs);
}
