import { FakePlatform } from '@app/simulators/fake/fake-platform';
import { BotReceiver } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';

export const SIGNING_SECRET = 'whsec_' + Buffer.from('bot-platform-signing-secret-32b!').toString('base64');

let domainCounter = 0;

/**
 * The setup the fake-gateway suites share, registered as hooks of the calling `describe`: a reset state, a fake
 * platform, a bot receiver and, given `env`, the service in this process (`t`, once the hooks ran). The suite's own
 * `beforeAll` hooks, declared after this call, run after these.
 */
export function fakeSuite(env?: Record<string, string>): { platform: FakePlatform; receiver: BotReceiver; readonly t: TestApp } {
  const platform = new FakePlatform();
  const receiver = new BotReceiver(SIGNING_SECRET);
  let app: TestApp | undefined;
  beforeAll(async () => {
    await resetState();
    await platform.start();
    await receiver.start();
    if (env) app = await startTestApp(env);
  });
  afterAll(async () => {
    await app?.close();
    await platform.stop();
    await receiver.stop();
  });
  return {
    platform,
    receiver,
    get t() {
      if (!app) throw new Error('fakeSuite: the service is started in beforeAll, and only when given an env');
      return app;
    },
  };
}

/** A domain whose callback is the receiver (or the one `inDomain` names), and a deployed fake gateway in it. */
export async function fakeGateway(
  t: Pick<TestApp, 'request'>,
  platform: FakePlatform,
  receiver: BotReceiver,
  options: {
    transferBack?: boolean;
    timeoutSeconds?: number;
    name?: string;
    agentOverride?: string;
    /** 0: the service does not poll the gateway (its events must be pushed as webhooks). */
    pollIntervalMs?: number;
    inDomain?: { domain: string; domainId: string };
  } = {},
): Promise<{ domain: string; gatewayId: string; domainId: string }> {
  let domain: string;
  let domainId: string;
  if (options.inDomain) ({ domain, domainId } = options.inDomain);
  else {
    domain = `d${++domainCounter}-${Date.now()}`;
    const d = await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } });
    if (d.status !== 201) throw new Error(`domain: ${d.text}`);
    domainId = d.body.id;
  }
  const g = await t.request('POST', '/v1/gateways', {
    body: {
      type: 'fake',
      settings: {
        basic: { name: options.name ?? 'fake', domain, deployed: true, platformUrl: platform.baseUrl },
        configuration: { transferBackOnAgentClose: options.transferBack ?? false, escalationTimeoutSeconds: options.timeoutSeconds ?? 120 },
        additional: {
          pollIntervalMs: options.pollIntervalMs ?? 100,
          apiRetryInitialDelayMs: 100,
          apiRetryMultiplier: 2,
          apiRetryMaxAttempts: 3,
          ...(options.agentOverride ? { agentOverride: options.agentOverride } : {}),
        },
      },
    },
  });
  if (g.status !== 201) throw new Error(`gateway: ${g.text}`);
  return { domain, gatewayId: g.body.id, domainId };
}

export function escalationBody(domain: string, gatewayId: string, externalId: string, extra: Record<string, unknown> = {}) {
  return {
    domain,
    gatewayId,
    conversation: { externalId, channel: 'webchat' },
    user: { firstName: 'Ada', lastName: 'Lovelace', name: 'Ada Lovelace', email: 'ada@example.com', language: 'en' },
    attributes: { Intent: 'balance', Authenticated: 'yes' },
    history: [
      { author: 'user', text: 'I would like my balance please', time: '2026-11-22T10:00:00Z' },
      { author: 'bot', text: 'Your balance is 12.34', time: '2026-11-22T10:00:05Z' },
    ],
    ...extra,
  };
}
