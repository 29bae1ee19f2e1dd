import { GatewayError } from '@app/gateway-sdk';
import { recoveryFor } from './gateway-recovery';

const policy = {
  transferBackOnAgentClose: false,
  agentOverride: 'agent_name_only' as const,
  escalationTimeoutSeconds: 600,
  apiRetry: { maxAttempts: 5, initialDelayMs: 4200, multiplier: 2 },
};

describe('recoveryFor', () => {
  it('backs off per the API Retry settings (4200 ms doubling) and starts a new cycle after max attempts', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => recoveryFor(new GatewayError('transient', 'x'), attempt, policy));
    expect(delays.map((r) => (r.action === 'retry' ? r.delayMs : -1))).toEqual([4200, 8400, 16800, 33600, 60000, 4200]);
  });

  it('waits for Retry-After on rate limits', () => {
    expect(recoveryFor(new GatewayError('rate_limited', 'x', { retryAfterMs: 1500 }), 1, policy)).toEqual({ action: 'retry', delayMs: 1500 });
  });

  it('stops on auth and invalid requests and reports no agents as a failure reason', () => {
    expect(recoveryFor(new GatewayError('auth_failed', 'bad key'), 1, policy)).toEqual({ action: 'fail', reason: 'auth_failed: bad key' });
    expect(recoveryFor(new GatewayError('no_agents_available', 'none'), 1, policy)).toEqual({ action: 'fail', reason: 'no_agents_available' });
  });

  it('treats a lost session and a bad cursor distinctly', () => {
    expect(recoveryFor(new GatewayError('session_gone', 'x'), 1, policy).action).toBe('session_gone');
    expect(recoveryFor(new GatewayError('cursor_invalid', 'x'), 1, policy).action).toBe('reset_cursor');
  });

  it('disables retries with max attempts 1 only within a cycle (the escalation is still retriggered)', () => {
    const once = { ...policy, apiRetry: { ...policy.apiRetry, maxAttempts: 1 } };
    const r = recoveryFor(new GatewayError('transient', 'x'), 3, once);
    expect(r).toEqual({ action: 'retry', delayMs: 4200 });
  });
});
