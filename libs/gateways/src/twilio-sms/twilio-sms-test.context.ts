import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  ChannelContext,
  GatewayContext,
  GatewayLogger,
  InboundWebhook,
  MemoryTokenCache,
  SettingsGroup,
  SettingsValues,
  toGatewayError,
  UserActivity,
} from '@app/gateway-sdk';
import { TwilioSimulator } from '@app/simulators/twilio';
import { TwilioSmsGateway } from './twilio-sms.gateway';
import { TWILIO_SMS_SETTINGS } from './twilio-sms.settings';
import { RecordingHttp, settingsWithDefaults } from '../channel-gateway-test.context';

export const GATEWAY_ID = 'gw-twilio-test';
export const BUSINESS = '+14155550100';


/** Settings as the service hands them over: every default, then the test's values. */
export const withDefaults = (values: Partial<Record<SettingsGroup, Record<string, unknown>>>): SettingsValues => settingsWithDefaults(TWILIO_SMS_SETTINGS, values);

/**
 * The Twilio simulator with one account and business number, and a node:http server standing in for the service's
 * webhook endpoint: it builds the request's public URL as the service does (its public base URL with the path and
 * query), runs verifyWebhook then handleWebhook, answers as the service does (401 for auth_failed, 400 for
 * invalid_request, 503 otherwise, the gateway's response when taken) and keeps the user activities.
 */
export class TwilioTestEnvironment {
  readonly simulator = new TwilioSimulator();
  readonly gateway = new TwilioSmsGateway();
  readonly activities: UserActivity[] = [];
  readonly refusals: string[] = [];
  readonly verified: Array<{ eventId: string; platformConversationId: string | null }> = [];
  readonly http = new RecordingHttp();
  readonly tokens = new MemoryTokenCache();
  account!: { accountSid: string; authToken: string };
  settings!: SettingsValues;
  /** Where the receiver really listens. */
  origin = '';
  /** The service's PUBLIC_BASE_URL as the receiver reconstructs request URLs (default: its own origin). */
  publicBaseUrl = '';
  private receiver?: Server;

  async start(): Promise<this> {
    this.receiver = createServer((req, res) => void this.receive(req, res));
    await new Promise<void>((resolve) => this.receiver!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.receiver.address() as AddressInfo).port}`;
    this.publicBaseUrl = this.origin;
    await this.simulator.start();
    this.account = this.simulator.addAccount();
    this.simulator.addNumber(this.account.accountSid, { phoneNumber: BUSINESS, smsUrl: this.webhookUrl });
    this.configure({});
    return this;
  }

  /** The service's webhook URL for the gateway (ctx.webhookUrl). */
  get webhookUrl(): string {
    return `${this.origin}/v1/webhooks/${GATEWAY_ID}`;
  }

  configure(values: Partial<Record<SettingsGroup, Record<string, unknown>>>): void {
    this.settings = withDefaults({
      basic: { accountSid: this.account.accountSid, authToken: this.account.authToken, sender: BUSINESS, ...values.basic },
      configuration: { apiBaseUrl: this.simulator.apiBaseUrl, ...values.configuration },
      additional: { ...values.additional },
    });
  }

  context(): GatewayContext {
    const noop = () => undefined;
    const logger: GatewayLogger = { debug: noop, info: noop, warn: noop, error: noop };
    return { gatewayId: GATEWAY_ID, settings: this.settings, provisioning: {}, webhookUrl: this.webhookUrl, logger, signal: AbortSignal.timeout(10_000), tokens: this.tokens, http: this.http };
  }

  channelContext(platformConversationId: string, options: { reference?: Record<string, unknown> | null; messageId?: string } = {}): ChannelContext {
    const reference = options.reference !== undefined ? options.reference : (this.activities.filter((a) => a.platformConversationId === platformConversationId && a.reference).at(-1)?.reference ?? null);
    return {
      ...this.context(),
      conversation: { id: `conv-${platformConversationId}`, platformConversationId, user: { id: platformConversationId.split(':')[0] }, reference },
      ...(options.messageId ? { messageId: options.messageId } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.simulator.settled();
    await this.simulator.stop();
    await new Promise<void>((resolve) => (this.receiver ? this.receiver.close(() => resolve()) : resolve()));
    this.http.destroy();
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
    const request: InboundWebhook = { headers, rawBody: Buffer.concat(chunks), receivedAt: new Date(), method: 'POST', url: `${this.publicBaseUrl}${req.url}` };
    try {
      const ctx = this.context();
      this.verified.push(await this.gateway.verifyWebhook(ctx, request));
      const { activities, response } = await this.gateway.handleWebhook(ctx, request);
      this.activities.push(...activities);
      if (response) res.writeHead(response.status, response.contentType ? { 'content-type': response.contentType } : {}).end(response.body);
      else res.writeHead(200).end();
    } catch (error) {
      const failure = toGatewayError(error);
      this.refusals.push(failure.message);
      res.writeHead(failure.code === 'auth_failed' ? 401 : failure.code === 'invalid_request' ? 400 : 503).end(failure.message);
    }
  }
}
