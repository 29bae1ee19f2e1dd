/** Backoff delay before attempt `attempt` (1-based: the delay after the first failure is `initialDelayMs`). */
export function backoffDelay(attempt: number, initialDelayMs: number, multiplier: number, maxDelayMs = 3_600_000): number {
  const delay = initialDelayMs * Math.pow(multiplier, Math.max(0, attempt - 1));
  return Math.min(Math.round(delay), maxDelayMs);
}
