import { afterFailure, MAX_BACKOFF_MS } from './delivery-retry';

describe('afterFailure', () => {
  const day = 86_400_000;

  it('doubles the wait from one second with each failed attempt', () => {
    expect([1, 2, 3, 4, 10].map((attempt) => afterFailure(attempt, 0, day))).toEqual([1000, 2000, 4000, 8000, 512_000].map((delayMs) => ({ action: 'retry', delayMs })));
  });

  it('waits at most an hour, however many attempts failed', () => {
    expect(afterFailure(13, 0, day)).toEqual({ action: 'retry', delayMs: MAX_BACKOFF_MS });
    expect(afterFailure(60, 0, day)).toEqual({ action: 'retry', delayMs: MAX_BACKOFF_MS });
  });

  it('gives the event up once it is older than the delivery max age, and not before', () => {
    expect(afterFailure(3, day, day)).toEqual({ action: 'retry', delayMs: 4000 });
    expect(afterFailure(3, day + 1, day)).toEqual({ action: 'abandon' });
  });
});
