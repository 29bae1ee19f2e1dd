import { connectorError, readConnectorError, retryAfterMs } from './connector-error.mapper';

const errorResponse = (code: string) => JSON.stringify({ error: { code, message: `${code} happened` } });
const BLOCKED_209 = JSON.stringify({
  errorCode: 209,
  message: JSON.stringify({ subCode: 'MessageWritesBlocked', details: 'Thread is blocked from message writes.', errorCode: null, errorSubCode: null }),
});

describe('Bot Connector errors', () => {
  it('reads both error shapes, including the JSON inside Teams\' message', () => {
    expect(readConnectorError(errorResponse('BadArgument'))).toEqual({ code: 'BadArgument', message: 'BadArgument happened' });
    expect(readConnectorError(BLOCKED_209)).toEqual({ errorCode: 209, subCode: 'MessageWritesBlocked', message: 'Thread is blocked from message writes.' });
    expect(readConnectorError('<html>Bad gateway</html>')).toEqual({ message: '<html>Bad gateway</html>' });
    expect(readConnectorError('')).toEqual({});
  });

  it.each([
    [403, errorResponse('BotNotInConversationRoster'), 'unreachable', 'not_installed'],
    [403, errorResponse('ForbiddenOperationException'), 'unreachable', 'not_installed'],
    [403, errorResponse('ConversationBlockedByUser'), 'unreachable', 'blocked'],
    [403, BLOCKED_209, 'unreachable', 'blocked'],
    [403, errorResponse('BotDisabledByAdmin'), 'unreachable', 'blocked'],
    [403, errorResponse('NotEnoughPermissions'), 'invalid_request', undefined],
    [404, errorResponse('ConversationNotFound'), 'unreachable', 'invalid_recipient'],
    [400, errorResponse('BadArgument'), 'invalid_request', undefined],
    [413, errorResponse('MessageSizeTooBig'), 'invalid_request', undefined],
    [401, errorResponse('BotNotRegistered'), 'auth_failed', undefined],
    [412, errorResponse('PreconditionFailed'), 'transient', undefined],
    [500, errorResponse('ServiceError'), 'transient', undefined],
    [502, errorResponse('ServiceError'), 'transient', undefined],
    [503, '', 'transient', undefined],
    [504, '', 'transient', undefined],
  ])('HTTP %i %s is %s (%s)', (status, body, code, reason) => {
    const error = connectorError({ status, body, operationId: 'op-42' });
    expect(error.code).toBe(code);
    expect(error.unreachableReason).toBe(reason);
    expect(error.status).toBe(status);
    expect(error.message).toContain('X-Correlating-OperationId op-42');
  });

  it('says an admin blocked the app', () => {
    expect(connectorError({ status: 403, body: errorResponse('BotDisabledByAdmin') }).message).toMatch(/BotDisabledByAdmin.*admin blocked the app/);
  });

  it('waits Retry-After on 429, in seconds or until an HTTP date', () => {
    const now = Date.parse('2026-01-10T09:30:00Z');
    expect(connectorError({ status: 429, body: errorResponse('Throttled'), retryAfter: '3', now })).toMatchObject({ code: 'rate_limited', retryAfterMs: 3000 });
    expect(connectorError({ status: 429, body: '', retryAfter: 'Sat, 10 Jan 2026 09:30:07 GMT', now }).retryAfterMs).toBe(7000);
    expect(connectorError({ status: 429, body: '', now }).retryAfterMs).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('Sat, 10 Jan 2026 09:29:00 GMT', now)).toBe(0);
  });
});
