import { GatewayError, OutboundRefused, toGatewayError, TokenCallContext } from '@app/gateway-sdk';
import { BotTokenClient } from './bot-token.client';
import { connectorError } from './connector-error.mapper';
import { normalizedServiceUrl, serviceUrlProblem, TeamsSettings } from './microsoft-teams.settings';
import { BotActivity } from './microsoft-teams.types';

const MAX_ANSWER_CHARS = 64 * 1024;

/**
 * The gateway's HTTP: the Bot Connector REST API (v3) with the bot's token, and the JSON documents of the key service.
 * Every request goes through the context's outbound HTTP, bounded by the Request Timeout.
 */
export class TeamsClient {
  constructor(
    private readonly settings: TeamsSettings,
    private readonly ctx: TokenCallContext,
    private readonly botTokens: BotTokenClient,
  ) {}

  /**
   * Appends an activity to a conversation (`POST {serviceUrl}v3/conversations/{id}/activities`) and returns the id the
   * Connector gave it. A 401 means the cached token is no longer accepted: it is dropped, a new one fetched and the
   * call made once more; a second 401 is the credentials' fault.
   */
  async sendToConversation(serviceUrl: string, conversationId: string, activity: BotActivity): Promise<string | null> {
    const problem = serviceUrlProblem(serviceUrl, this.settings.serviceUrlHosts);
    // The bot token goes nowhere but a Connector host: a stored reference with another service URL is refused unsent.
    if (problem) throw new GatewayError('invalid_request', `Refusing to send the bot token: ${problem}`);
    const url = `${normalizedServiceUrl(serviceUrl)}v3/conversations/${encodeURIComponent(conversationId)}/activities`;
    const body = JSON.stringify(activity);
    let response = await this.post(url, body, await this.botTokens.token(this.ctx, this.settings));
    if (response.status === 401) {
      this.ctx.logger.info('Bot Connector refused the bot token; fetching a new one and retrying once', { operationId: response.operationId });
      this.botTokens.invalidate(this.ctx, this.settings);
      response = await this.post(url, body, await this.botTokens.token(this.ctx, this.settings));
    }
    if (response.status >= 200 && response.status < 300) {
      try {
        const id = (JSON.parse(response.text) as { id?: unknown }).id;
        return typeof id === 'string' && id !== '' ? id : null;
      } catch {
        return null;
      }
    }
    const error = connectorError({ status: response.status, body: response.text, retryAfter: response.retryAfter, operationId: response.operationId });
    this.ctx.logger.warn('Bot Connector refused an activity', { status: response.status, code: error.code, operationId: response.operationId, error: error.message });
    throw error;
  }

  /** GETs a JSON document (OpenID metadata, key set). Unreachable or 5xx: transient; other refusals: auth_failed. */
  async getJson(url: string): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await this.ctx.http.fetch(url, { headers: { accept: 'application/json' }, signal: this.signal() });
      text = await response.text();
    } catch (error) {
      if (error instanceof OutboundRefused) throw new GatewayError('invalid_request', `${url} refused by the outbound policy: ${error.message}`, { cause: error });
      throw new GatewayError('transient', `${url} unreachable: ${describe(error)}`, { cause: error });
    }
    if (!response.ok) {
      const code = response.status === 429 || response.status >= 500 ? 'transient' : 'auth_failed';
      throw new GatewayError(code, `${url} answered HTTP ${response.status}`, { status: response.status });
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new GatewayError('auth_failed', `${url} did not answer JSON`);
    }
  }

  private async post(url: string, body: string, token: string): Promise<{ status: number; text: string; retryAfter: string | null; operationId: string | null }> {
    try {
      const response = await this.ctx.http.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
        body,
        signal: this.signal(),
        // A redirect would carry the activity elsewhere; the Connector does not redirect.
        redirect: 'error',
      });
      const text = await response.text();
      return {
        status: response.status,
        text: text.length > MAX_ANSWER_CHARS ? text.slice(0, MAX_ANSWER_CHARS) : text,
        retryAfter: response.headers.get('retry-after'),
        operationId: response.headers.get('x-correlating-operationid'),
      };
    } catch (error) {
      const failure = toGatewayError(error);
      throw failure.code === 'transient' ? new GatewayError('transient', `Bot Connector unreachable: ${describe(error)}`, { cause: error }) : failure;
    }
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.ctx.signal, AbortSignal.timeout(this.settings.requestTimeoutMs)]);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
