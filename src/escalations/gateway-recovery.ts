import { backoffDelay, EscalationPolicy, GatewayError } from '@app/gateway-sdk';

/** What the engine does about a failed platform call. The one place where error codes meet recovery steps. */
export type Recovery =
  | { action: 'retry'; delayMs: number }
  | { action: 'fail'; reason: string }
  | { action: 'session_gone' }
  | { action: 'reset_cursor' };

const MAX_RETRY_DELAY_MS = 60_000;

/**
 * `attempt` counts failures of this call so far (1 after the first). API Retry settings shape the backoff; once the
 * configured attempts are used up the cycle starts again (the PureEngage gateway's product documentation retriggers the
 * escalation until an agent joins or it times out), so retries never stop on their own: timeouts and ends stop them.
 */
export function recoveryFor(error: GatewayError, attempt: number, policy: EscalationPolicy): Recovery {
  switch (error.code) {
    case 'transient': {
      const { maxAttempts, initialDelayMs, multiplier } = policy.apiRetry;
      const inCycle = ((attempt - 1) % Math.max(1, maxAttempts)) + 1;
      return { action: 'retry', delayMs: Math.min(backoffDelay(inCycle, initialDelayMs, multiplier), MAX_RETRY_DELAY_MS) };
    }
    case 'rate_limited':
      return { action: 'retry', delayMs: Math.min(error.retryAfterMs ?? policy.apiRetry.initialDelayMs, MAX_RETRY_DELAY_MS) };
    case 'session_gone':
      return { action: 'session_gone' };
    case 'cursor_invalid':
      return { action: 'reset_cursor' };
    case 'no_agents_available':
      return { action: 'fail', reason: 'no_agents_available' };
    case 'auth_failed':
      return { action: 'fail', reason: `auth_failed: ${error.message}` };
    case 'invalid_request':
      return { action: 'fail', reason: `invalid_request: ${error.message}` };
    case 'unreachable':
      // Channels' word; an escalation platform has no end user to reach, so it is a refusal like any other.
      return { action: 'fail', reason: `unreachable: ${error.message}` };
  }
}
