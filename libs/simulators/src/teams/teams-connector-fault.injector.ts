import { HttpError } from '../http/simulator-http';
import { TeamsConnectorFault } from './teams-simulator.types';

const MESSAGES: Record<string, string> = {
  BadArgument: 'The request is invalid.',
  BotDisabledByAdmin: 'The tenant admin disabled this bot.',
  BotNotInConversationRoster: 'The bot is not part of the conversation roster.',
  ConversationBlockedByUser: 'User blocked the conversation with the bot.',
  ForbiddenOperationException: 'Bot is not installed in user\'s personal scope',
  InvalidBotApiHost: 'Invalid bot api host. For GCC tenants, please use https://smba.infra.gcc.teams.microsoft.com',
  NotEnoughPermissions: 'Bot does not have required permissions to perform the requested operation.',
  ActivityNotFoundInConversation: 'Conversation not found.',
  ConversationNotFound: 'Conversation not found.',
  PreconditionFailed: 'Precondition failed, please try again.',
  MessageSizeTooBig: 'Message size too large.',
  Throttled: 'Too many requests.',
  ServiceError: 'Unknown error.',
};

/** The Bot Framework error shape `{error:{code,message}}` as an HTTP error. */
export function connectorError(status: number, code: string, message = MESSAGES[code] ?? code, headers: Record<string, string> = {}): HttpError {
  return new HttpError(status, { error: { code, message } }, 'application/json', headers);
}

/** Teams' other error shape, for a user who blocked or muted the bot (errorCode 209, subCode in a JSON string). */
export function messageWritesBlockedError(): HttpError {
  return new HttpError(403, {
    errorCode: 209,
    message: JSON.stringify({ subCode: 'MessageWritesBlocked', details: 'Thread is blocked from message writes.', errorCode: null, errorSubCode: null }),
  });
}

const DEFAULT_CODES: Record<number, string> = { 400: 'BadArgument', 401: 'Unauthorized', 404: 'ConversationNotFound', 412: 'PreconditionFailed', 413: 'MessageSizeTooBig', 429: 'Throttled', 500: 'ServiceError', 502: 'ServiceError' };

/** Queued Connector faults: each answers the next `count` matching calls, in the order they were added. */
export class TeamsConnectorFaultInjector {
  private faults: Array<TeamsConnectorFault & { remaining: number }> = [];

  add(fault: TeamsConnectorFault): void {
    if (!(fault.status >= 400 && fault.status <= 599)) throw new HttpError(400, { message: 'status must be 4xx or 5xx' });
    this.faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  pending(): TeamsConnectorFault[] {
    return this.faults.map(({ remaining, ...fault }) => ({ ...fault, count: remaining }));
  }

  /** Throws the first fault that matches this call, counting it down. */
  apply(conversationId: string | undefined): void {
    const fault = this.faults.find((candidate) => !candidate.conversationId || candidate.conversationId === conversationId);
    if (!fault) return;
    if (--fault.remaining <= 0) this.faults = this.faults.filter((other) => other !== fault);
    const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    if (fault.body !== undefined) throw new HttpError(fault.status, fault.body, 'application/json', headers);
    if (fault.status === 503 || fault.status === 504) throw new HttpError(fault.status, '', 'text/plain', headers);
    throw connectorError(fault.status, fault.code ?? DEFAULT_CODES[fault.status] ?? 'ServiceError', undefined, headers);
  }
}
