import { GatewayError, UnreachableReason } from '@app/gateway-sdk';

/** Throughput (130429) resets within a second; wait that, the service adds up to a fifth more so retries spread. */
export const THROUGHPUT_RETRY_MS = 1_000;
/** Pair rate (131056): about one message per 6 s to one user, so the next attempt waits that long. */
export const PAIR_RATE_RETRY_MS = 6_000;
/** App or WABA call budgets (4, 80007) and a throughput upgrade (131057, under a minute). */
export const BUDGET_RETRY_MS = 60_000;

export interface GraphErrorBody {
  code?: number;
  message?: string;
  details?: string;
  fbtraceId?: string;
}

/** Reads the Graph error envelope `{error:{message, type, code, error_data:{details}, fbtrace_id}}`. */
export function readGraphError(body: string): GraphErrorBody {
  try {
    const error = (JSON.parse(body) as { error?: Record<string, any> })?.error;
    if (!error || typeof error !== 'object') return body.trim() ? { message: body.trim().slice(0, 300) } : {};
    return {
      ...(typeof error.code === 'number' ? { code: error.code } : {}),
      ...(typeof error.message === 'string' ? { message: error.message.slice(0, 300) } : {}),
      ...(typeof error.error_data?.details === 'string' ? { details: error.error_data.details.slice(0, 300) } : {}),
      ...(typeof error.fbtrace_id === 'string' ? { fbtraceId: error.fbtrace_id } : {}),
    };
  } catch {
    return body.trim() ? { message: body.trim().slice(0, 300) } : {};
  }
}

/**
 * Why a user cannot be reached, for the WhatsApp codes that say so, synchronously or in a `failed` status. Meta
 * reports no distinct code for a user who blocked the business: it comes as 131026 with the other undeliverable cases.
 */
export function unreachableReasonOf(code: number | undefined): { reason: UnreachableReason; detail?: string } | undefined {
  switch (code) {
    case 131047:
      return { reason: 'window_closed', detail: 'more than 24 hours since the user\'s last message: send a template' };
    case 131026:
      return { reason: 'invalid_recipient', detail: 'undeliverable: not a WhatsApp user, an old client, terms not accepted, or the user blocked the business' };
    case 131050:
      return { reason: 'opted_out', detail: 'the user stopped marketing messages from this business' };
    case 131049:
      return { reason: 'unknown', detail: 'frequency capped: Meta did not deliver this marketing message to keep ecosystem engagement healthy; try much later' };
    case 131048:
      return { reason: 'unknown', detail: 'spam rate limit: messages from this number were refused for quality' };
    default:
      return undefined;
  }
}

/**
 * The GatewayError for a failed Graph call. Meta asks clients to decide on `code`, not on the HTTP status or titles,
 * so the status only decides when there is no code.
 */
export function graphError(status: number, body: string): GatewayError {
  const error = readGraphError(body);
  const code = error.code;
  const message = `Graph API answered HTTP ${status}${code !== undefined ? ` (#${code})` : ''}${error.details ? `: ${error.details}` : error.message ? `: ${error.message}` : ''}${
    error.fbtraceId ? ` (fbtrace_id ${error.fbtraceId})` : ''
  }`;
  const unreachable = unreachableReasonOf(code);
  if (unreachable) return new GatewayError('unreachable', `${message} — ${unreachable.detail}`, { status, unreachableReason: unreachable.reason });
  if (code === 130429) return new GatewayError('rate_limited', message, { status, retryAfterMs: THROUGHPUT_RETRY_MS });
  if (code === 131056) return new GatewayError('rate_limited', message, { status, retryAfterMs: PAIR_RATE_RETRY_MS });
  if (code === 4 || code === 80007 || code === 131057) return new GatewayError('rate_limited', message, { status, retryAfterMs: BUDGET_RETRY_MS });
  if (code === 1 || code === 2 || code === 131000 || code === 131016) return new GatewayError('transient', message, { status });
  if (code === 190 || code === 0 || code === 131005 || code === 10 || code === 3 || (code !== undefined && code >= 200 && code <= 299)) {
    return new GatewayError('auth_failed', message, { status });
  }
  if (code === undefined) {
    if (status === 401 || status === 403) return new GatewayError('auth_failed', message, { status });
    if (status === 429) return new GatewayError('rate_limited', message, { status, retryAfterMs: THROUGHPUT_RETRY_MS });
    if (status >= 500 || status === 408) return new GatewayError('transient', message, { status });
  }
  if (status >= 500 && code !== undefined && code < 100_000) return new GatewayError('transient', message, { status });
  // 100, 131008/131009, 132xxx template errors, 368 policy block, 131031 locked account: an operator or the sender must change something.
  return new GatewayError('invalid_request', message, { status });
}
