import {
  AttachmentRef,
  ChatGateway,
  EscalationContext,
  fetchLinkUnder,
  GatewayLogger,
  InboundWebhook,
  PlatformEvent,
  PlatformSession,
  SETTINGS_GROUPS,
  SettingsGroup,
  SettingsValues,
  MemoryTokenCache,
  OutboundHttp,
  OutboundHttpClient,
  VerifiedWebhook,
} from '@app/gateway-sdk';
import { EightByEightSimulator, EightByEightSimulatorOptions, EightByEightTestReceiver, ReceivedWebhook } from '@app/simulators/eight-by-eight';
import { EIGHT_BY_EIGHT_SETTINGS } from './eight-by-eight.settings';

/** A logger that keeps what it was told, for assertions on warnings. */
export class RecordingLogger implements GatewayLogger {
  readonly entries: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }> = [];
  debug = (message: string, fields?: Record<string, unknown>) => void this.entries.push({ level: 'debug', message, fields });
  info = (message: string, fields?: Record<string, unknown>) => void this.entries.push({ level: 'info', message, fields });
  warn = (message: string, fields?: Record<string, unknown>) => void this.entries.push({ level: 'warn', message, fields });
  error = (message: string, fields?: Record<string, unknown>) => void this.entries.push({ level: 'error', message, fields });

  messages(level: 'debug' | 'info' | 'warn' | 'error'): string[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.message);
  }
}

/** The service's outbound HTTP as the tests use it (the simulator is on the loopback), and one without that allowance. */
export const testHttp = new OutboundHttpClient({ allowPrivateNetworks: true });
const strictHttp = new OutboundHttpClient({ allowPrivateNetworks: false });

/** Settings as the service hands them over: the schema's defaults, then the given values. */
export function settingsWithDefaults(values: Partial<Record<SettingsGroup, Record<string, unknown>>>): SettingsValues {
  const settings = {} as SettingsValues;
  for (const group of SETTINGS_GROUPS) {
    const defaults = Object.fromEntries(
      Object.entries(EIGHT_BY_EIGHT_SETTINGS[group])
        .filter(([, field]) => field.default !== undefined)
        .map(([name, field]) => [name, field.default]),
    );
    settings[group] = { ...defaults, ...values[group] };
  }
  return settings;
}

export interface TestContext extends EscalationContext {
  logger: RecordingLogger;
  tokens: MemoryTokenCache;
}

/**
 * A hand-built context: defaults applied, a Map-backed token cache, a recording logger, AbortSignal.timeout, and
 * requests and links made as the service makes them (private networks allowed, as the simulator is on loopback,
 * unless `allowPrivateNetworks` says otherwise).
 */
export function testContext(options: {
  settings: SettingsValues;
  webhookUrl: string;
  provisioning?: Record<string, unknown>;
  session?: PlatformSession | null;
  tokens?: MemoryTokenCache;
  timeoutMs?: number;
  attachments?: Map<string, Buffer>;
  gatewayId?: string;
  allowPrivateNetworks?: boolean;
  http?: OutboundHttp;
}): TestContext {
  const context: TestContext = {
    gatewayId: options.gatewayId ?? 'gw-8x8-test',
    settings: options.settings,
    provisioning: options.provisioning ?? {},
    webhookUrl: options.webhookUrl,
    logger: new RecordingLogger(),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    tokens: options.tokens ?? new MemoryTokenCache(),
    http: options.http ?? (options.allowPrivateNetworks === false ? strictHttp : testHttp),
    escalationId: 'esc-1',
    session: options.session ?? null,
    readAttachment: async (ref: AttachmentRef) => {
      const content = options.attachments?.get(ref.id ?? ref.name);
      if (!content) throw new Error(`no test attachment ${ref.id ?? ref.name}`);
      return content;
    },
    fetchLink: (url, maxBytes) => fetchLinkUnder({ allowPrivateNetworks: options.allowPrivateNetworks ?? true, timeoutMs: options.timeoutMs ?? 10_000 }, url, maxBytes),
  };
  return context;
}

/** A webhook the simulator delivered to the test receiver, as the service would pass it to the gateway. */
export function inboundFrom(webhook: ReceivedWebhook, receivedAt = new Date(webhook.receivedAt)): InboundWebhook {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(webhook.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
  return { headers, rawBody: webhook.rawBody, receivedAt };
}

/** A simulator (validating every Chat Gateway request against 8x8's OpenAPI document) and a webhook receiver. */
export interface EightByEightTestEnvironment {
  simulator: EightByEightSimulator;
  receiver: EightByEightTestReceiver;
  baseUrl: string;
  /** The receiver's URL for one gateway (the service's is `/v1/webhooks/{gatewayId}`). */
  webhookUrl(gatewayId: string): string;
  /** Settings pointing at the simulator, with the schema's defaults under the given values. */
  settings(values?: Partial<Record<SettingsGroup, Record<string, unknown>>>): SettingsValues;
  stop(): Promise<void>;
}

export const TEST_API_KEY = 'test-api-key';
export const TEST_METRICS_SECRET = 'test-metrics-secret';
export const TEST_TENANT = 'tenant01';

export async function startEightByEight(options: EightByEightSimulatorOptions = {}): Promise<EightByEightTestEnvironment> {
  const receiver = new EightByEightTestReceiver();
  const receiverUrl = await receiver.start();
  const simulator = new EightByEightSimulator({
    apiKey: TEST_API_KEY,
    apiSecret: TEST_METRICS_SECRET,
    tenantId: TEST_TENANT,
    validateRequests: true,
    retryDelaysMs: [20, 40, 60],
    activationDelayMs: 1,
    queues: [
      { id: '101', name: 'Support', agents: { available: 2 } },
      { id: '102', name: 'Sales', agents: { available: 1 } },
      { id: '103', name: 'Billing', agents: { available: 1 } },
    ],
    ...options,
  });
  const baseUrl = await simulator.start();
  return {
    simulator,
    receiver,
    baseUrl,
    webhookUrl: (gatewayId) => `${receiverUrl}s/${gatewayId}`,
    settings: (values = {}) =>
      settingsWithDefaults({
        basic: { baseUrl, apiKey: TEST_API_KEY, tenantId: TEST_TENANT, metricsBaseUrl: `${baseUrl}/analytics/cc/v5/realtime-metrics`, metricsClientSecret: TEST_METRICS_SECRET, ...values.basic },
        configuration: { defaultQueueId: '101', ...values.configuration },
        additional: { ...values.additional },
      }),
    stop: async () => {
      await simulator.stop();
      await receiver.stop();
    },
  };
}

/**
 * Plays the service's webhook endpoint: takes what the simulator delivered since the last call, runs
 * verifyWebhook then handleWebhook on each (handing on the session each returns), and returns the normalized events
 * in delivery order.
 */
export class WebhookTap {
  private cursor = 0;

  constructor(
    private readonly environment: EightByEightTestEnvironment,
    private readonly gateway: ChatGateway,
  ) {}

  /** Skips everything received so far. */
  skip(): void {
    this.cursor = this.environment.receiver.received.length;
  }

  async drain(ctx: EscalationContext, conversationId = stringOf(ctx.session?.conversationId)): Promise<{ events: PlatformEvent[]; verified: VerifiedWebhook[] }> {
    await this.environment.simulator.whenDeliveriesSettled();
    const received = this.environment.receiver.received.slice(this.cursor);
    this.cursor += received.length;
    const events: PlatformEvent[] = [];
    const verified: VerifiedWebhook[] = [];
    for (const webhook of received.filter((candidate) => candidate.body.conversationId === conversationId)) {
      const inbound = inboundFrom(webhook);
      verified.push(await this.gateway.verifyWebhook!(ctx, inbound));
      const update = await this.gateway.handleWebhook!(ctx, inbound);
      events.push(...update.events);
      // As the service does: the session a webhook returns is what the next one sees.
      if (update.session) ctx.session = { ...(ctx.session ?? {}), ...update.session };
    }
    return { events, verified };
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
