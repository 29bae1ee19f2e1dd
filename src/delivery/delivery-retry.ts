/** The longest wait between two attempts at an event. */
export const MAX_BACKOFF_MS = 3_600_000;

/** What follows a failed attempt at an event. */
export type AfterFailure = { action: 'retry'; delayMs: number } | { action: 'abandon' };

/**
 * After the `attempt`-th failed attempt at an event stored `ageMs` ago: retried after 1 s, 2 s, 4 s... (at most an
 * hour), until the event is older than `maxAgeMs`; then it is given up (still replayable) and the next one goes, so
 * that one event the bot platform refuses for ever does not hold its conversation for ever.
 */
export function afterFailure(attempt: number, ageMs: number, maxAgeMs: number): AfterFailure {
  if (ageMs > maxAgeMs) return { action: 'abandon' };
  return { action: 'retry', delayMs: Math.min(1000 * 2 ** (attempt - 1), MAX_BACKOFF_MS) };
}
