import type { UnreachableReason } from './channel-gateway';

/**
 * The small set of failure classes a gateway reports. The service maps each code to exactly one recovery step
 * (retry with backoff, wait for retry-after, stop, re-escalate, reset the cursor) in one place.
 */
export type GatewayErrorCode =
  /** Network error, 5xx, GMS statusCode 1: retry with the gateway's API-retry backoff. */
  | 'transient'
  /** 429 or equivalent: retry after `retryAfterMs`. */
  | 'rate_limited'
  /** Credentials rejected: stop and fail the escalation; operators must fix the settings. */
  | 'auth_failed'
  /** The platform refused the request as malformed: do not retry this call. */
  | 'invalid_request'
  /** The platform session no longer exists (ended, expired, dropped): end or re-escalate. */
  | 'session_gone'
  /** The stored cursor is no longer valid: restart reading from the beginning and rely on dedupe. */
  | 'cursor_invalid'
  /** No agent can take the conversation now (availability check). */
  | 'no_agents_available'
  /** Channels: the user cannot be reached (`unreachableReason` says why); not retried. */
  | 'unreachable';

export interface GatewayErrorOptions {
  retryAfterMs?: number;
  /** For `unreachable`: why, in the words every channel shares. */
  unreachableReason?: UnreachableReason;
  /** HTTP status or platform status code, for the record. */
  status?: number;
  cause?: unknown;
}

/** The only error type a gateway throws out of its contract methods. */
export class GatewayError extends Error {
  readonly retryAfterMs?: number;
  readonly status?: number;
  readonly unreachableReason?: UnreachableReason;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.unreachableReason = options.unreachableReason ?? (code === 'unreachable' ? 'unknown' : undefined);
  }

  /** Whether repeating the same call later can succeed. */
  get retryable(): boolean {
    return this.code === 'transient' || this.code === 'rate_limited';
  }
}

/** Wraps anything a gateway's HTTP layer threw into a GatewayError (network failures are transient). */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  // OutboundRefused (outbound-http.ts): asking again would not change the policy's answer.
  if ((error as { code?: unknown })?.code === 'EOUTBOUNDREFUSED') {
    return new GatewayError('invalid_request', `refused by the outbound policy: ${(error as Error).message}`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError('transient', message, { cause: error });
}
