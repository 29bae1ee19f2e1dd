import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  ChannelContext,
  GatewayContext,
  GatewayLogger,
  MemoryTokenCache,
  SettingsGroup,
  SettingsValues,
  toGatewayError,
  UserActivity,
} from '@app/gateway-sdk';
import { ManualClock } from '@app/simulators';
import { WhatsAppSimulator } from '@app/simulators/whatsapp';
import { WhatsAppCloudGateway } from './whatsapp-cloud.gateway';
import { WHATSAPP_CLOUD_SETTINGS } from './whatsapp-cloud.settings';
import { LogLine, RecordingHttp, settingsWithDefaults } from '../channel-gateway-test.context';

export const GATEWAY_ID = 'gw-whatsapp-test';

/** Settings as the service hands them over: every default, then the test's values. */
export const withDefaults = (values: Partial<Record<SettingsGroup, Record<string, unknown>>>): SettingsValues => settingsWithDefaults(WHATSAPP_CLOUD_SETTINGS, values);

/**
 * The WhatsApp simulator on a manual clock, one business registered on it, and a node:http server standing in for the
 * service's webhook endpoint: it runs verifyWebhook then handleWebhook on each request (GET handshake and POSTs),
 * answers as the service does (401 for auth_failed, 400 for invalid_request, 503 otherwise, the handler's response or
 * 200), and keeps the user activities and the latest reference per conversation, as the service stores them.
 */
export class WhatsAppTestEnvironment {
  readonly clock = new ManualClock();
  readonly simulator = new WhatsAppSimulator({ clock: this.clock });
  readonly gateway = new WhatsAppCloudGateway();
  readonly activities: UserActivity[] = [];
  readonly references = new Map<string, Record<string, unknown>>();
  readonly refusals: string[] = [];
  readonly log: LogLine[] = [];
  readonly http = new RecordingHttp();
  tokens = new MemoryTokenCache();
  business!: ReturnType<WhatsAppSimulator['addBusiness']>;
  settings!: SettingsValues;
  webhookUrl = '';
  private receiver?: Server;

  async start(): Promise<this> {
    this.receiver = createServer((req, res) => void this.receive(req, res));
    await new Promise<void>((resolve) => this.receiver!.listen(0, '127.0.0.1', resolve));
    this.webhookUrl = `http://127.0.0.1:${(this.receiver.address() as AddressInfo).port}/v1/webhooks/${GATEWAY_ID}`;
    await this.simulator.start();
    this.business = this.simulator.addBusiness({ callbackUrl: this.webhookUrl, displayPhoneNumber: '15550783881', verifiedName: 'Clinic' });
    this.configure({});
    return this;
  }

  configure(values: Partial<Record<SettingsGroup, Record<string, unknown>>>): void {
    this.settings = withDefaults({
      basic: {
        phoneNumberId: this.business.phoneNumberId,
        businessAccountId: this.business.wabaId,
        accessToken: this.business.accessToken,
        appSecret: this.business.appSecret,
        verifyToken: this.business.verifyToken,
        ...values.basic,
      },
      configuration: { graphBaseUrl: this.simulator.graphBaseUrl, graphVersion: this.simulator.graphVersion, ...values.configuration },
      additional: { ...values.additional },
    });
  }

  context(): GatewayContext {
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => void this.log.push({ level, message, fields });
    const logger: GatewayLogger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
    return { gatewayId: GATEWAY_ID, settings: this.settings, provisioning: {}, webhookUrl: this.webhookUrl, logger, signal: AbortSignal.timeout(10_000), tokens: this.tokens, http: this.http };
  }

  /** A send's context for a user, with the reference their messages left (or the one given). */
  channelContext(waId: string, options: { reference?: Record<string, unknown> | null; messageId?: string } = {}): ChannelContext {
    const reference = options.reference !== undefined ? options.reference : (this.references.get(waId) ?? null);
    return { ...this.context(), conversation: { id: `conv-${waId}`, platformConversationId: waId, user: { id: waId }, reference }, ...(options.messageId ? { messageId: options.messageId } : {}) };
  }

  messages(level: string): string[] {
    return this.log.filter((line) => line.level === level).map((line) => line.message);
  }

  async stop(): Promise<void> {
    await this.simulator.stop();
    await new Promise<void>((resolve) => (this.receiver ? this.receiver.close(() => resolve()) : resolve()));
    this.http.destroy();
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
    const method = req.method === 'GET' ? 'GET' : 'POST';
    const request = { headers, rawBody: Buffer.concat(chunks), receivedAt: new Date(), method, url: `${new URL(this.webhookUrl).origin}${req.url}` } as const;
    try {
      const ctx = this.context();
      await this.gateway.verifyWebhook(ctx, request);
      const { activities, response } = await this.gateway.handleWebhook(ctx, request);
      for (const activity of activities) {
        this.activities.push(activity);
        if (activity.reference) this.references.set(activity.platformConversationId, activity.reference);
      }
      if (response) res.writeHead(response.status, response.contentType ? { 'content-type': response.contentType } : {}).end(response.body);
      else res.writeHead(200).end();
    } catch (error) {
      const failure = toGatewayError(error);
      this.refusals.push(failure.message);
      res.writeHead(failure.code === 'auth_failed' ? 401 : failure.code === 'invalid_request' ? 400 : 503).end(failure.message);
    }
  }
}
