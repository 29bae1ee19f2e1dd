import { FakeChannelPlatform, FakeUserActivity } from '@app/simulators/fake/fake-channel-platform';
import { BotReceiver, waitFor } from '../support/bot-receiver';
import { TestApp } from '../support/test-app';
import { SIGNING_SECRET } from '../escalations/fake-setup';

export const WEBHOOK_SECRET = 'fake-channel-webhook-secret';
let counter = 0;

/** A domain whose callback is the receiver, and a deployed `fake-channel` gateway in it (fast retries). */
export async function fakeChannel(
  t: Pick<TestApp, 'request'>,
  platform: FakeChannelPlatform,
  receiver: BotReceiver,
  options: { agentMessages?: 'channel' | 'bot'; maxAttempts?: number; inDomain?: string; type?: string; configuration?: Record<string, unknown> } = {},
): Promise<{ domain: string; domainId: string; gatewayId: string }> {
  let domain = options.inDomain;
  let domainId = '';
  if (!domain) {
    domain = `ch${++counter}-${Date.now()}`;
    const d = await t.request('POST', '/v1/domains', {
      body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET, ...(options.agentMessages ? { agentMessages: options.agentMessages } : {}) },
    });
    if (d.status !== 201) throw new Error(`domain: ${d.text}`);
    domainId = d.body.id;
  }
  const g = await t.request('POST', '/v1/gateways', {
    body: {
      type: options.type ?? 'fake-channel',
      settings: {
        basic: { name: `channel-${++counter}`, domain, deployed: true, platformUrl: platform.baseUrl, webhookSecret: WEBHOOK_SECRET },
        configuration: options.configuration ?? {},
        additional: { apiRetryInitialDelayMs: 50, apiRetryMultiplier: 2, apiRetryMaxAttempts: options.maxAttempts ?? 3 },
      },
    },
  });
  if (g.status !== 201) throw new Error(`gateway: ${g.text}`);
  return { domain, domainId, gatewayId: g.body.id };
}

/** Pushes user activities to the gateway's webhook, as the platform would; expects them accepted. */
export async function userSays(t: TestApp, platform: FakeChannelPlatform, gatewayId: string, activities: FakeUserActivity[]): Promise<Record<string, unknown>> {
  const res = await platform.push(`${t.url}/v1/webhooks/${gatewayId}`, WEBHOOK_SECRET, activities);
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body);
}

/** The service's conversation for a platform conversation, once the bot was told it started. */
export async function conversationOf(receiver: BotReceiver, platformConversationId: string): Promise<string> {
  const found = await waitFor(`conversation_started for ${platformConversationId}`, () =>
    receiver.deliveries.find((d) => d.type === 'conversation_started' && d.data.platformConversationId === platformConversationId),
  );
  return found.conversationId;
}
