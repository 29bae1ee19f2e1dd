import { ManualClock } from '../clock/simulator-clock';
import { EightByEightHarness, startHarness } from './eight-by-eight-test.fixtures';

describe('8x8 simulator HTTP fault injection', () => {
  let h: EightByEightHarness;
  // Latency faults wait on this clock, which moves only when a test says: delays are checked on it, not on the machine.
  const clock = new ManualClock();
  const arm = (fault: Record<string, unknown>) => fetch(`${h.baseUrl}/sim/faults/http`, { method: 'POST', body: JSON.stringify(fault) });

  beforeAll(async () => {
    h = await startHarness({ validateRequests: false, clock });
  });
  afterAll(() => h.stop());
  beforeEach(() => h.simulator.reset());

  it('answers the next matching requests with the injected 5xx, then recovers', async () => {
    expect((await arm({ kind: 'error', status: 502, count: 2, path: '/conversations' })).status).toBe(201);
    expect((await h.request('GET', '/chat-gateway/v1/webhooks')).status).toBe(200);
    const failed = await h.request('GET', '/chat-gateway/v1/conversations');
    expect(failed.status).toBe(502);
    expect(failed.headers.get('content-type')).toBe('application/problem+json');
    expect(failed.json()).toEqual({ message: 'Internal error.', errors: [{ code: 'internal_error', message: 'Internal error.' }] });
    expect((await h.request('GET', '/chat-gateway/v1/conversations')).status).toBe(502);
    expect((await h.request('GET', '/chat-gateway/v1/conversations')).status).toBe(200);
  });

  it('answers 429 with Retry-After', async () => {
    await arm({ kind: 'rate-limit', retryAfterSeconds: 7 });
    const limited = await h.request('POST', '/chat-gateway/v1/webhooks', { body: {} });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.json().errors[0].code).toBe('rate_limit_exceeded');
  });

  it('slows matching answers down, then answers normally', async () => {
    h.simulator.injectHttpFault({ kind: 'latency', latencyMs: 150, method: 'GET' });
    let answered = false;
    const slow = h.request('GET', '/chat-gateway/v1/channels').then((response) => ((answered = true), response));
    // The request took the fault (it is used up) and waits on the clock for the 150 ms, not a moment less.
    await clock.untilPending(1);
    expect(h.simulator.listFaults().http).toHaveLength(0);
    expect(clock.pending()).toEqual([150]);
    clock.advance(149);
    expect(answered).toBe(false);
    clock.advance(1);
    expect((await slow).status).toBe(200);
    // Answered normally afterwards: nothing left to wait on.
    expect((await h.request('GET', '/chat-gateway/v1/channels')).status).toBe(200);
    expect(clock.pending()).toEqual([]);
  });

  it('only hits the method it names and leaves the control API alone', async () => {
    h.simulator.injectHttpFault({ kind: 'error', method: 'POST' });
    expect((await h.request('GET', '/chat-gateway/v1/channels')).status).toBe(200);
    expect((await fetch(`${h.baseUrl}/sim/keys/rotate`, { method: 'POST' })).status).toBe(200);
    expect((await h.request('POST', '/chat-gateway/v1/webhooks', { body: {} })).status).toBe(503);
  });

  it('lists, clears and validates faults through the control API', async () => {
    await arm({ kind: 'error', count: 3 });
    h.simulator.injectWebhookFault({ kind: 'duplicate', count: 2 });
    const listed = (await (await fetch(`${h.baseUrl}/sim/faults`)).json()) as { http: Array<{ remaining: number }>; webhooks: unknown };
    expect(listed.http).toEqual([{ id: expect.any(Number), kind: 'error', status: 503, remaining: 3 }]);
    expect(listed.webhooks).toEqual({ duplicate: 2, outOfOrder: 0 });
    expect((await fetch(`${h.baseUrl}/sim/faults`, { method: 'DELETE' })).status).toBe(204);
    expect(h.simulator.listFaults()).toEqual({ http: [], webhooks: { duplicate: 0, outOfOrder: 0 } });
    expect((await arm({ kind: 'boom' })).status).toBe(400);
    expect((await arm({ kind: 'error', count: 0 })).status).toBe(400);
  });
});
