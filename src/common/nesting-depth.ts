/** How deep a request body may nest: the service's own bodies go a few levels deep, Adaptive Cards a dozen or so. */
export const MAX_BODY_DEPTH = 64;

/**
 * Whether a parsed JSON value nests deeper than `limit` objects and arrays. Walked with a stack of its own, not by
 * recursion: a hostile body a few thousand levels deep must not overflow the call stack here, as it would in the
 * validation that runs after this check (class-transformer recurses).
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
  }
  return false;
}
