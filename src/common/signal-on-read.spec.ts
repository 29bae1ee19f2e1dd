import { once } from 'node:events';
import { signalOnRead } from './signal-on-read';

describe('signalOnRead', () => {
  it('makes the signal when it is first read, once', () => {
    const made: AbortSignal[] = [];
    const ctx = signalOnRead({ id: 'x', signal: new AbortController().signal }, () => {
      const signal = new AbortController().signal;
      made.push(signal);
      return signal;
    });
    expect(ctx.id).toBe('x');
    expect(made).toHaveLength(0);
    const first = ctx.signal;
    expect(made).toEqual([first]);
    expect(ctx.signal).toBe(first);
    expect({ ...ctx }.signal).toBe(first);
    expect(made).toHaveLength(1);
  });

  it('answers the signal make() gives, aborted when it times out', async () => {
    const ctx = signalOnRead({ signal: new AbortController().signal }, () => AbortSignal.timeout(10));
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    // Until it times out, however long the machine takes to get there.
    await once(signal, 'abort');
    expect(ctx.signal.aborted).toBe(true);
    expect((ctx.signal.reason as Error).name).toBe('TimeoutError');
  });
});
