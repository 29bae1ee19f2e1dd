import { GatewayError } from '@app/gateway-sdk';

/** The codes a Bot Connector error answer carries, from whichever of its shapes it used. */
export interface ConnectorErrorCodes {
  /** `error.code` (generic ErrorResponse) or a string `code`. */
  code?: string;
  /** Teams' numeric `errorCode` (209 with MessageWritesBlocked). */
  errorCode?: number | string;
  /** `subCode` from the JSON string Teams puts in `message`. */
  subCode?: string;
  message?: string;
}

/**
 * Reads a Connector error body. Two shapes occur: the Bot Framework ErrorResponse
 * `{"error":{"code":"BadArgument","message":"..."}}`, and Teams' own `{"errorCode":209,"message":"{\"subCode\":...}"}`
 * whose `message` is itself JSON. Anything unreadable gives what could be read.
 */
export function readConnectorError(body: string): ConnectorErrorCodes {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim() ? { message: body.trim().slice(0, 300) } : {};
  }
  if (!parsed || typeof parsed !== 'object') return {};
  const root = parsed as Record<string, unknown>;
  const error = root.error && typeof root.error === 'object' ? (root.error as Record<string, unknown>) : undefined;
  const codes: ConnectorErrorCodes = {};
  const code = error?.code ?? root.code;
  if (typeof code === 'string' && code !== '') codes.code = code;
  if (typeof root.errorCode === 'number' || (typeof root.errorCode === 'string' && root.errorCode !== '')) codes.errorCode = root.errorCode;
  const message = error?.message ?? root.message;
  if (typeof message === 'string') {
    codes.message = message.slice(0, 300);
    if (message.trim().startsWith('{')) {
      try {
        const inner = JSON.parse(message) as Record<string, unknown>;
        if (typeof inner.subCode === 'string' && inner.subCode !== '') codes.subCode = inner.subCode;
        if (typeof inner.details === 'string') codes.message = inner.details.slice(0, 300);
        if (!codes.code && typeof inner.code === 'string') codes.code = inner.code;
      } catch {
        // A message that merely starts with a brace: kept as text.
      }
    }
  }
  return codes;
}

/** Milliseconds to wait from a Retry-After value: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What a failed Connector answer says, for the error. */
export interface ConnectorFailure {
  status: number;
  body: string;
  retryAfter?: string | null;
  /** `X-Correlating-OperationId`: Microsoft asks for it when a call is reported. */
  operationId?: string | null;
  now?: number;
}

/**
 * The GatewayError for a failed Connector call, after the Teams status table: 429 waits Retry-After; 412, 5xx are
 * transient (500 once more does no harm: the service's API retry bounds it); the 403 codes and 404
 * ConversationNotFound say the user cannot be reached and why; other refusals are not retried.
 */
export function connectorError(failure: ConnectorFailure): GatewayError {
  const codes = readConnectorError(failure.body);
  const { status } = failure;
  const label = [codes.code, codes.subCode, codes.errorCode !== undefined ? `errorCode ${codes.errorCode}` : undefined].filter(Boolean).join('/');
  const message = `Bot Connector answered HTTP ${status}${label ? ` ${label}` : ''}${codes.message ? `: ${codes.message}` : ''}${
    failure.operationId ? ` (X-Correlating-OperationId ${failure.operationId})` : ''
  }`;
  const unreachable = (reason: 'blocked' | 'not_installed' | 'invalid_recipient' | 'unknown', detail = '') =>
    new GatewayError('unreachable', `${message}${detail}`, { status, unreachableReason: reason });
  if (status === 429) return new GatewayError('rate_limited', message, { status, retryAfterMs: retryAfterMs(failure.retryAfter, failure.now) });
  if (status === 412 || status >= 500) return new GatewayError('transient', message, { status });
  if (status === 401) return new GatewayError('auth_failed', message, { status });
  if (status === 403) {
    if (codes.code === 'BotNotInConversationRoster' || codes.code === 'ForbiddenOperationException') return unreachable('not_installed');
    if (codes.code === 'ConversationBlockedByUser' || codes.subCode === 'MessageWritesBlocked' || String(codes.errorCode) === '209') return unreachable('blocked');
    if (codes.code === 'BotDisabledByAdmin') return unreachable('blocked', ' (the tenant admin blocked the app for this user)');
    // The app lacks a permission, or the tenant needs another cloud's service URL: an operator must act.
    if (codes.code === 'NotEnoughPermissions' || codes.code === 'InvalidBotApiHost') return new GatewayError('invalid_request', message, { status });
    return unreachable('unknown');
  }
  if (status === 404 && codes.code === 'ConversationNotFound') return unreachable('invalid_recipient');
  return new GatewayError('invalid_request', message, { status });
}
