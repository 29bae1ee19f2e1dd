import { GatewayError, TokenCallContext, toGatewayError } from '@app/gateway-sdk';
import { twilioError } from './twilio-error.mapper';
import { API_VERSION, TwilioSmsSettings } from './twilio-sms.settings';

const MAX_ANSWER_CHARS = 64 * 1024;

/** The gateway's HTTP: Twilio's REST API with Basic auth (Account SID, Auth Token), through the context's outbound HTTP. */
export class TwilioSmsClient {
  constructor(
    private readonly settings: TwilioSmsSettings,
    private readonly ctx: Pick<TokenCallContext, 'signal' | 'http'>,
  ) {}

  /** `POST Messages.json` and the new message's SID. */
  async createMessage(params: Array<[string, string]>): Promise<string> {
    const answer = await this.call('POST', `${this.accountUrl()}/Messages.json`, new URLSearchParams(params).toString());
    try {
      const sid = (JSON.parse(answer) as { sid?: unknown }).sid;
      if (typeof sid === 'string' && sid !== '') return sid;
    } catch {
      // fall through
    }
    throw new GatewayError('transient', 'Twilio accepted the message but its answer names no sid');
  }

  /** `GET` the account resource: proves the credentials. */
  async fetchAccount(): Promise<{ status?: string; friendlyName?: string }> {
    const answer = JSON.parse(await this.call('GET', `${this.accountUrl()}.json`)) as { status?: string; friendly_name?: string };
    return { status: answer.status, friendlyName: answer.friendly_name };
  }

  private accountUrl(): string {
    return `${this.settings.apiBaseUrl}/${API_VERSION}/Accounts/${encodeURIComponent(this.settings.accountSid)}`;
  }

  private async call(method: 'GET' | 'POST', url: string, body?: string): Promise<string> {
    let response: Response;
    let text: string;
    try {
      response = await this.ctx.http.fetch(url, {
        method,
        headers: {
          authorization: `Basic ${Buffer.from(`${this.settings.accountSid}:${this.settings.authTokens[0]}`).toString('base64')}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        body,
        signal: AbortSignal.any([this.ctx.signal, AbortSignal.timeout(this.settings.requestTimeoutMs)]),
        // A redirect would carry the credentials elsewhere; Twilio's API does not redirect.
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      const failure = toGatewayError(error);
      throw failure.code === 'transient' ? new GatewayError('transient', `Twilio unreachable: ${describe(error)}`, { cause: error }) : failure;
    }
    if (response.ok) return text;
    throw twilioError({ status: response.status, body: text.slice(0, MAX_ANSWER_CHARS), retryAfter: response.headers.get('retry-after') });
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
