/**
 * `target` with its `signal` made by `make` when it is first read, then the same one on every read. For contexts
 * whose signal is mostly never used: made eagerly, a timeout signal's timer stays armed for its whole timeout, and
 * it and the signal outlive the call (one per platform delivery at 1,000 a second, for 30 s each). Copying `target`
 * with a spread reads the signal, so makes it.
 */
export function signalOnRead<T extends { signal: AbortSignal }>(target: T, make: () => AbortSignal): T {
  let made: AbortSignal | undefined;
  return Object.defineProperty(target, 'signal', { get: () => (made ??= make()), enumerable: true, configurable: true });
}
