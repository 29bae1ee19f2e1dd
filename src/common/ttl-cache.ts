/**
 * Values loaded at most once per key and period. The promise is what is kept, so the callers in flight when a
 * period ends share one load instead of each making its own; a failed load is forgotten at once (the next caller
 * tries again). Bounded: when full it starts over.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached && cached.until > Date.now()) return cached.value;
    const entry = { value: load(), until: Date.now() + this.ttlMs };
    this.remember(key, entry);
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  /** Keeps a value known without loading (one just read or written elsewhere) for the period. */
  set(key: string, value: V): void {
    this.remember(key, { value: Promise.resolve(value), until: Date.now() + this.ttlMs });
  }

  private remember(key: string, entry: { value: Promise<V>; until: number }): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, entry);
  }
}
