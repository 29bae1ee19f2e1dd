import { EightByEightSimulator, EightByEightSimulatorOptions } from './eight-by-eight-simulator';
import { EightByEightTestReceiver } from './eight-by-eight-test.receiver';

/**
 * Example requests taken from 8x8's documentation: the create-conversation curl of 8x8's chat workflow guide
 * (docs/actions-events/docs/chat-workflow.md in 8x8Cloud/public-developer-docs, with its `" 123"` / `" AccountType"`
 * typos mended) and the OAS examples of send-message.
 */
export const EXAMPLE_REQUESTS = {
  createWebhook: (uri: string) => ({ name: 'chat-gateway', uri, version: 'Chat Gateway v1.0' }),
  createChannel: (webHookId: string, queueId = '123') => ({ name: 'Bot escalations', type: 'ChatAPI', webHookId, routingOptions: { type: 'queue', id: queueId } }),
  createConversation: (channelId: string, queueId = '123') => ({
    user: {
      language: 'en',
      name: 'James Jones',
      email: 'user@example.com',
      phone: '013453403332',
      additionalProperties: [
        { key: 'Authenticated', value: 'yes' },
        { key: 'Intent', value: 'balance' },
        { key: 'AccountType', value: 'credit' },
      ],
    },
    assignment: { type: 'queue', id: queueId },
    history: {
      messages: [
        { authorType: 'user', text: 'Hello, can I get my balance please' },
        { authorType: 'bot', text: 'Sure, what is your account number' },
        { authorType: 'user', text: 'Thanks, please can I speak to an agent ' },
        { authorType: 'bot', text: 'Sure, connecting you now' },
      ],
    },
    channelId,
  }),
  messageWithCards: {
    authorType: 'user',
    text: 'What would you like to do next?',
    attachments: [],
    cards: [
      { contentType: 'application/8x8.quick.replies', content: { options: [{ title: 'option one', data: { postback: '1' } }, { title: 'second option', data: { postback: '2' } }] } },
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: 'Example' }], $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.3' },
      },
    ],
  },
  messageWithExternalProvider: { authorType: 'user', externalProvider: { name: 'X', externalMessageId: '1234567890123456789' } },
  postAgentAssignment: (webhookId: string) => ({ type: 'webhook', id: webhookId, configuration: { notifyChannelWebhookIfExists: 'false', maxTotalMinutes: 300, userTimeoutInMinutes: 150 } }),
};

/** A reply of the harness's `request`. */
export interface HarnessResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  json: <T = Record<string, any>>() => T;
}

/** A simulator and a webhook receiver wired together, for the simulator's specs and gateway contract tests. */
export interface EightByEightHarness {
  simulator: EightByEightSimulator;
  receiver: EightByEightTestReceiver;
  baseUrl: string;
  webhookUrl: string;
  /** A request with `x-api-key` set (override or drop it through `headers`; `undefined` removes a header). */
  request(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string | undefined>; rawBody?: Buffer | FormData | string }): Promise<HarnessResponse>;
  /** Webhook + channel routing to `queueId`. */
  setupChannel(queueId?: string): Promise<{ webhookId: string; channelId: string }>;
  /** The chat workflow guide's conversation on a new channel; resolves once its created/active/QUEUED events arrive. */
  startConversation(queueId?: string): Promise<{ conversationId: string; channelId: string; webhookId: string }>;
  stop(): Promise<void>;
}

export async function startHarness(options: EightByEightSimulatorOptions = {}): Promise<EightByEightHarness> {
  const receiver = new EightByEightTestReceiver();
  const webhookUrl = await receiver.start();
  const simulator = new EightByEightSimulator({ retryDelaysMs: [20, 40, 60], activationDelayMs: 1, ...options });
  const baseUrl = await simulator.start();
  const request: EightByEightHarness['request'] = async (method, path, requestOptions = {}) => {
    const headers: Record<string, string> = { 'x-api-key': simulator.apiKey };
    if (requestOptions.body !== undefined) headers['content-type'] = 'application/json';
    for (const [name, value] of Object.entries(requestOptions.headers ?? {})) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    const body = requestOptions.rawBody ?? (requestOptions.body === undefined ? undefined : JSON.stringify(requestOptions.body));
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const buffer = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body: buffer, json: () => JSON.parse(buffer.toString('utf8')) };
  };
  const setupChannel = async (queueId = '123') => {
    const webhook = await request('POST', '/chat-gateway/v1/webhooks', { body: EXAMPLE_REQUESTS.createWebhook(webhookUrl) });
    if (webhook.status !== 200) throw new Error(`webhook create failed: ${webhook.status} ${webhook.body.toString()}`);
    const webhookId = webhook.json().id as string;
    const channel = await request('POST', '/chat-gateway/v1/channels', { body: EXAMPLE_REQUESTS.createChannel(webhookId, queueId) });
    if (channel.status !== 200) throw new Error(`channel create failed: ${channel.status} ${channel.body.toString()}`);
    return { webhookId, channelId: channel.json().id as string };
  };
  return {
    simulator,
    receiver,
    baseUrl,
    webhookUrl,
    request,
    setupChannel,
    startConversation: async (queueId = '123') => {
      const { webhookId, channelId } = await setupChannel(queueId);
      const created = await request('POST', '/chat-gateway/v1/conversations', { body: EXAMPLE_REQUESTS.createConversation(channelId, queueId) });
      if (created.status !== 202) throw new Error(`conversation create failed: ${created.status} ${created.body.toString()}`);
      await simulator.whenDeliveriesSettled();
      return { conversationId: created.json().conversationId as string, channelId, webhookId };
    },
    stop: async () => {
      await simulator.stop();
      await receiver.stop();
    },
  };
}
