/**
 * Resolves once `condition` holds, checking every few milliseconds: for a spec waiting on something the simulator
 * does on its own (a request reaching it). Fails naming `what` after `timeoutMs`, a bound for a broken run only.
 */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
