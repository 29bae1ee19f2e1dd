import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  ChannelContext,
  GatewayContext,
  GatewayLogger,
  SettingsGroup,
  SettingsValues,
  toGatewayError,
  UserActivity,
} from '@app/gateway-sdk';
import { TeamsSimulator } from '@app/simulators/teams';
import { MicrosoftTeamsGateway } from './microsoft-teams.gateway';
import { MICROSOFT_TEAMS_SETTINGS } from './microsoft-teams.settings';
import { AdvancingTokenCache, LogLine, RecordingHttp, settingsWithDefaults } from '../channel-gateway-test.context';

export const TENANT = 'tenant-a';
export const GATEWAY_ID = 'gw-teams-test';




/** Settings as the service hands them over: every default, then the test's values. */
export const withDefaults = (values: Partial<Record<SettingsGroup, Record<string, unknown>>>): SettingsValues => settingsWithDefaults(MICROSOFT_TEAMS_SETTINGS, values);

/**
 * The Teams simulator, one bot registered on it, and a node:http server standing in for the service's webhook endpoint
 * (the bot's messaging endpoint): it runs verifyWebhook then handleWebhook on each delivery, answers as the service
 * does (401 for auth_failed, 400 for invalid_request, 503 otherwise, 200 when taken), and keeps the user activities and
 * the latest reference per conversation, as the service stores them.
 */
export class TeamsTestEnvironment {
  readonly simulator = new TeamsSimulator();
  readonly gateway = new MicrosoftTeamsGateway();
  readonly appId = randomUUID();
  readonly secret = `secret-${randomUUID()}`;
  readonly activities: UserActivity[] = [];
  readonly references = new Map<string, Record<string, unknown>>();
  readonly refusals: string[] = [];
  readonly log: LogLine[] = [];
  readonly http = new RecordingHttp();
  tokens = new AdvancingTokenCache();
  settings!: SettingsValues;
  private receiver?: Server;

  async start(options: { certificatePem?: string; settings?: Partial<Record<SettingsGroup, Record<string, unknown>>> } = {}): Promise<this> {
    this.receiver = createServer((req, res) => void this.receive(req, res));
    await new Promise<void>((resolve) => this.receiver!.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(this.receiver.address() as AddressInfo).port}/v1/webhooks/${GATEWAY_ID}`;
    await this.simulator.start();
    this.simulator.registerBot({
      appId: this.appId,
      name: 'Help Bot',
      ...(options.certificatePem ? { certificatePem: options.certificatePem } : { secret: this.secret }),
      tenantId: TENANT,
      messagingEndpoint: endpoint,
    });
    this.configure(options.settings ?? {});
    return this;
  }

  /** A fresh token cache: no bot token, no key set. */
  resetTokens(): void {
    this.tokens = new AdvancingTokenCache();
  }

  configure(values: Partial<Record<SettingsGroup, Record<string, unknown>>>): void {
    this.settings = withDefaults({
      basic: { appId: this.appId, appPassword: this.secret, appTenantId: TENANT, ...values.basic },
      configuration: {
        openIdMetadataUrl: this.simulator.openIdMetadataUrl,
        tokenEndpointTemplate: this.simulator.tokenEndpointTemplate,
        allowedServiceUrlHosts: '127.0.0.1',
        ...values.configuration,
      },
      additional: { ...values.additional },
    });
  }

  context(): GatewayContext {
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => void this.log.push({ level, message, fields });
    const logger: GatewayLogger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
    return {
      gatewayId: GATEWAY_ID,
      settings: this.settings,
      provisioning: {},
      webhookUrl: 'unused',
      logger,
      signal: AbortSignal.timeout(10_000),
      tokens: this.tokens,
      http: this.http,
    };
  }

  /** A send's context for a conversation, with the reference its activities left (or the one given). */
  channelContext(platformConversationId: string, options: { reference?: Record<string, unknown> | null; messageId?: string } = {}): ChannelContext {
    const reference = options.reference !== undefined ? options.reference : (this.references.get(platformConversationId) ?? null);
    return {
      ...this.context(),
      conversation: { id: `conv-${platformConversationId}`, platformConversationId, user: { id: 'user' }, reference },
      ...(options.messageId ? { messageId: options.messageId } : {}),
    };
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
    const request = { headers, rawBody: Buffer.concat(chunks), receivedAt: new Date() };
    try {
      const ctx = this.context();
      await this.gateway.verifyWebhook(ctx, request);
      const { activities } = await this.gateway.handleWebhook(ctx, request);
      for (const activity of activities) {
        this.activities.push(activity);
        if (activity.reference) this.references.set(activity.platformConversationId, activity.reference);
      }
      res.writeHead(200).end();
    } catch (error) {
      const failure = toGatewayError(error);
      this.refusals.push(failure.message);
      res.writeHead(failure.code === 'auth_failed' ? 401 : failure.code === 'invalid_request' ? 400 : 503).end(failure.message);
    }
  }
}

export { AdvancingTokenCache, RecordingHttp };
export type { LogLine };
