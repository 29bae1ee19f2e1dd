import { GatewayContext, GatewayError, toGatewayError } from '@app/gateway-sdk';
import { graphError } from './whatsapp-cloud-error.mapper';
import { WhatsAppSettings } from './whatsapp-cloud.settings';

const MAX_ANSWER_CHARS = 256 * 1024;
/** A WABA with more templates than this many pages is read only this far (25 per page by default: 2,500). */
const MAX_TEMPLATE_PAGES = 100;

type ClientContext = Pick<GatewayContext, 'http' | 'signal' | 'logger'>;

/**
 * The gateway's HTTP: the Graph API with the system user's token, through the context's outbound HTTP, each call
 * bounded by the Request Timeout. Refusals become GatewayErrors by whatsapp-cloud-error.mapper.
 */
export class WhatsAppCloudClient {
  constructor(
    private readonly settings: WhatsAppSettings,
    private readonly ctx: ClientContext,
  ) {}

  /** `POST /{phone-number-id}/messages`; the answer's JSON. */
  messages(body: Record<string, unknown>): Promise<Record<string, any>> {
    return this.call('POST', `${this.settings.graphUrl}/${this.settings.phoneNumberId}/messages`, body);
  }

  /** The id of the message a send created (`messages[0].id`). */
  async sendMessage(body: Record<string, unknown>): Promise<string | null> {
    const answer = await this.messages(body);
    const id = answer?.messages?.[0]?.id;
    return typeof id === 'string' && id !== '' ? id : null;
  }

  phoneNumber(): Promise<Record<string, any>> {
    return this.call('GET', `${this.settings.graphUrl}/${this.settings.phoneNumberId}?fields=display_phone_number,verified_name,quality_rating`);
  }

  /** Every template of the WABA, following `paging.next` (only onto the same Graph origin). */
  async templates(limit = 100): Promise<Array<Record<string, any>>> {
    const origin = new URL(this.settings.graphUrl).origin;
    const all: Array<Record<string, any>> = [];
    let url: string | undefined = `${this.settings.graphUrl}/${this.settings.businessAccountId}/message_templates?limit=${limit}`;
    for (let page = 0; url && page < MAX_TEMPLATE_PAGES; page++) {
      const answer = await this.call('GET', url);
      if (Array.isArray(answer?.data)) all.push(...answer.data);
      const next: unknown = answer?.paging?.next;
      // The token goes with the next page's request: only to the Graph API itself.
      url = typeof next === 'string' && next !== '' && new URL(next).origin === origin ? next : undefined;
    }
    return all;
  }

  private async call(method: 'GET' | 'POST', url: string, body?: Record<string, unknown>): Promise<Record<string, any>> {
    let status: number;
    let text: string;
    try {
      const response = await this.ctx.http.fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.settings.accessToken}`,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([this.ctx.signal, AbortSignal.timeout(this.settings.requestTimeoutMs)]),
        // A redirect would carry the token elsewhere; the Graph API does not redirect.
        redirect: 'error',
      });
      status = response.status;
      text = (await response.text()).slice(0, MAX_ANSWER_CHARS);
    } catch (error) {
      const failure = toGatewayError(error);
      throw failure.code === 'transient' ? new GatewayError('transient', `Graph API unreachable: ${describe(error)}`, { cause: error }) : failure;
    }
    if (status < 200 || status >= 300) {
      const error = graphError(status, text);
      this.ctx.logger.warn('Graph API refused a call', { method, status, code: error.code, error: error.message });
      throw error;
    }
    try {
      return JSON.parse(text) as Record<string, any>;
    } catch {
      throw new GatewayError('transient', `Graph API answered HTTP ${status} without JSON`, { status });
    }
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
