import { GatewayError } from '@app/gateway-sdk';

/** Milliseconds to wait from a Retry-After value: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Twilio's REST error body `{code, message, more_info, status}`, as far as it can be read. */
export function readTwilioError(body: string): { code?: number; message?: string } {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    return {
      ...(typeof parsed.code === 'number' ? { code: parsed.code } : {}),
      ...(typeof parsed.message === 'string' ? { message: parsed.message.slice(0, 300) } : {}),
    };
  } catch {
    return body.trim() ? { message: body.trim().slice(0, 300) } : {};
  }
}

/**
 * The GatewayError for a refused REST call (https://www.twilio.com/docs/api/errors): 429/20429 waits Retry-After,
 * 21611 (too many messages queued for the sender) waits too, 5xx is transient, 401/20003 is the credentials', 21610
 * the recipient's opt-out, 21211/21614 an address that cannot take SMS; everything else is a request not to repeat.
 */
export function twilioError(failure: { status: number; body: string; retryAfter?: string | null; now?: number }): GatewayError {
  const { code, message: text } = readTwilioError(failure.body);
  const { status } = failure;
  const message = `Twilio answered HTTP ${status}${code !== undefined ? ` code ${code}` : ''}${text ? `: ${text}` : ''}`;
  if (status === 429 || code === 20429) return new GatewayError('rate_limited', message, { status, retryAfterMs: retryAfterMs(failure.retryAfter, failure.now) });
  if (code === 21611) return new GatewayError('rate_limited', message, { status });
  if (status >= 500) return new GatewayError('transient', message, { status });
  if (status === 401 || code === 20003) return new GatewayError('auth_failed', message, { status });
  if (code === 21610) return new GatewayError('unreachable', message, { status, unreachableReason: 'opted_out' });
  if (code === 21211 || code === 21614) return new GatewayError('unreachable', message, { status, unreachableReason: 'invalid_recipient' });
  return new GatewayError('invalid_request', message, { status });
}
