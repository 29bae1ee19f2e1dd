import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { OutboundHttpClient, Resolver } from '@app/gateway-sdk';
import { ReceivedWebhook } from '@app/simulators/eight-by-eight';
import { seedEscalation } from './eight-by-eight.fixtures';
import { EightByEightGateway, JWK_FETCHES } from './eight-by-eight.gateway';
import { EightByEightTestEnvironment, inboundFrom, startEightByEight, testContext, TestContext } from './eight-by-eight-test.context';

/** Inbound webhooks from the simulator: signatures, freshness, key rotation, duplicate, retried and reordered deliveries. */
describe('8x8 gateway webhooks from the 8x8 simulator', () => {
  const gateway = new EightByEightGateway();
  let env: EightByEightTestEnvironment;
  let ctx: TestContext;
  let conversationId: string;

  beforeAll(async () => {
    env = await startEightByEight({ outOfOrderHoldMs: 300 });
    ctx = testContext({ gatewayId: 'gw-webhooks', settings: env.settings(), webhookUrl: env.webhookUrl('gw-webhooks'), timeoutMs: 60_000 });
    ctx.provisioning = await gateway.deploy(ctx);
    const result = await gateway.startEscalation(ctx, seedEscalation());
    ctx.session = result.session;
    conversationId = String(result.session.conversationId);
    await env.simulator.whenDeliveriesSettled();
    env.simulator.acceptConversation(conversationId, { agentId: 'agent-7' });
    await env.simulator.whenDeliveriesSettled();
  });
  afterAll(() => env.stop());
  afterEach(() => {
    env.receiver.respondWith(200);
    expect(env.simulator.oasViolations()).toEqual([]);
  });

  /** Runs an agent action and returns the webhooks it caused. */
  async function deliveriesOf(action: () => void): Promise<ReceivedWebhook[]> {
    const before = env.receiver.received.length;
    action();
    await env.simulator.whenDeliveriesSettled();
    return env.receiver.received.slice(before);
  }

  const agentSays = (text: string) => deliveriesOf(() => env.simulator.sendAgentMessage(conversationId, { text }));

  it('verifies a signed delivery and names its event, conversation and platform time', async () => {
    const [webhook] = await agentSays('signed');
    const verified = await gateway.verifyWebhook(ctx, inboundFrom(webhook));
    expect(verified).toEqual({
      eventId: webhook.headers['x-8x8-event-id'],
      platformConversationId: conversationId,
      occurredAt: new Date(webhook.body.timestamp as number),
    });
    const { events } = await gateway.handleWebhook(ctx, inboundFrom(webhook));
    expect(events).toEqual([{ type: 'agent_message', key: `eid:${verified.eventId}`, occurredAt: verified.occurredAt, data: { agent: { id: 'agent-7' }, text: 'signed' } }]);
  });

  it('refuses a delivery whose body was changed on the way', async () => {
    const [webhook] = await agentSays('original words');
    const tampered = { ...webhook, rawBody: Buffer.from(webhook.rawBody.toString('utf8').replace('original', 'tampered')) };
    await expect(gateway.verifyWebhook(ctx, inboundFrom(tampered))).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('does not match') });
  });

  it('fetches the new key once after 8x8 rotates its signing key', async () => {
    const [before] = await agentSays('old key');
    await gateway.verifyWebhook(ctx, inboundFrom(before));
    const newKid = env.simulator.rotateSigningKey();
    const [first] = await agentSays('new key');
    const [second] = await agentSays('new key again');
    const requested = env.simulator.signingKeys.requested.length;
    await expect(gateway.verifyWebhook(ctx, inboundFrom(first))).resolves.toMatchObject({ platformConversationId: conversationId });
    await expect(gateway.verifyWebhook(ctx, inboundFrom(second))).resolves.toMatchObject({ platformConversationId: conversationId });
    expect(env.simulator.signingKeys.requested.slice(requested)).toEqual([newKid]);
  });

  it('also verifies against the legacy JWK path 8x8\'s samples use', async () => {
    const legacy = testContext({ gatewayId: 'gw-webhooks', settings: env.settings({ basic: { jwkUrlTemplate: '{baseUrl}/vcc/us/chat/v2/jwk/{kid}/public' } }), webhookUrl: ctx.webhookUrl });
    const [webhook] = await agentSays('legacy key path');
    await expect(gateway.verifyWebhook(legacy, inboundFrom(webhook))).resolves.toMatchObject({ platformConversationId: conversationId });
  });

  it('refuses a delivery transmitted longer ago than the max webhook age, and one from the future', async () => {
    const [webhook] = await agentSays('replayed later');
    const transmitted = Number(webhook.headers['x-8x8-transmission-time']);
    await expect(gateway.verifyWebhook(ctx, inboundFrom(webhook, new Date(transmitted + 301_000)))).rejects.toMatchObject({
      code: 'auth_failed',
      message: expect.stringContaining('stale webhook: transmitted 301 s before it arrived, more than the 300 s allowed'),
    });
    await expect(gateway.verifyWebhook(ctx, inboundFrom(webhook, new Date(transmitted - 300_000)))).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('future') });
    const patient = testContext({ gatewayId: 'gw-webhooks', settings: env.settings({ additional: { maxWebhookAgeSeconds: 600 } }), webhookUrl: ctx.webhookUrl });
    await expect(gateway.verifyWebhook(patient, inboundFrom(webhook, new Date(transmitted + 301_000)))).resolves.toBeDefined();
  });

  it('refuses deliveries for another tenant', async () => {
    const [webhook] = await agentSays('tenant check');
    const otherTenant = testContext({ gatewayId: 'gw-webhooks', settings: env.settings({ basic: { tenantId: 'tenant02' } }), webhookUrl: ctx.webhookUrl });
    await expect(gateway.verifyWebhook(otherTenant, inboundFrom(webhook))).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('tenant') });
  });

  it('accepts an unsigned WEB_HOOK_VERIFY hello only in its exact shape', async () => {
    const unsigned = (body: string) => ({ headers: { 'content-type': 'application/json' }, rawBody: Buffer.from(body), receivedAt: new Date() });
    await expect(gateway.verifyWebhook(ctx, unsigned('{"notificationVersion":"Chat Gateway v1.0","eventType":"WEB_HOOK_VERIFY"}'))).resolves.toMatchObject({ platformConversationId: null });
    await expect(gateway.verifyWebhook(ctx, unsigned(`{"notificationVersion":"Chat Gateway v1.0","eventType":"WEB_HOOK_VERIFY","conversationId":"${conversationId}"}`))).rejects.toMatchObject({ code: 'auth_failed' });
    const [signed] = await agentSays('unsigned copy');
    const stripped = inboundFrom(signed);
    delete stripped.headers['x-8x8-signature'];
    await expect(gateway.verifyWebhook(ctx, stripped)).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('no x-8x8-signature') });
  });

  it('gives a duplicated delivery the same event id and the same event keys', async () => {
    env.simulator.injectWebhookFault({ kind: 'duplicate', count: 1 });
    const copies = await agentSays('said once');
    expect(copies).toHaveLength(2);
    const verified = await Promise.all(copies.map((copy) => gateway.verifyWebhook(ctx, inboundFrom(copy))));
    expect(verified[1]).toEqual(verified[0]);
    const handled = await Promise.all(copies.map((copy) => gateway.handleWebhook(ctx, inboundFrom(copy))));
    expect(handled[1].events.map((event) => event.key)).toEqual(handled[0].events.map((event) => event.key));
  });

  it('gives a retried delivery (new transmission time and signature) the same event id', async () => {
    let calls = 0;
    env.receiver.respondWith(() => ({ status: calls++ === 0 ? 503 : 200 }));
    const attempts = await agentSays('retried');
    expect(attempts.map((attempt) => attempt.headers['x-8x8-retry'])).toEqual(['0', '1']);
    expect(attempts[1].headers['x-8x8-signature']).not.toBe(attempts[0].headers['x-8x8-signature']);
    const verified = await Promise.all(attempts.map((attempt) => gateway.verifyWebhook(ctx, inboundFrom(attempt))));
    expect(verified[1]).toEqual(verified[0]);
  });

  it('reports the platform time of deliveries that arrive out of order, so the service can order them', async () => {
    env.simulator.injectWebhookFault({ kind: 'out-of-order', count: 1 });
    const arrived = await deliveriesOf(() => {
      env.simulator.sendAgentMessage(conversationId, { text: 'first' });
      env.simulator.sendAgentMessage(conversationId, { text: 'second' });
    });
    expect(arrived.map((webhook) => (webhook.body.data as { text: string }).text)).toEqual(['second', 'first']);
    const [second, first] = await Promise.all(arrived.map((webhook) => gateway.verifyWebhook(ctx, inboundFrom(webhook))));
    expect(first.occurredAt!.getTime()).toBeLessThanOrEqual(second.occurredAt!.getTime());
    expect(first.eventId).not.toBe(second.eventId);
  });

  it('skips a verified delivery about another conversation, and one it cannot read, with a warning', async () => {
    const [webhook] = await agentSays('for someone else');
    const elsewhere = { ...ctx, session: { conversationId: 'another-conversation' } };
    await expect(gateway.handleWebhook(elsewhere, inboundFrom(webhook))).resolves.toEqual({ events: [] });
    const garbled = { ...inboundFrom(webhook), rawBody: Buffer.from('{not json') };
    await expect(gateway.handleWebhook(ctx, garbled)).resolves.toEqual({ events: [] });
    expect(ctx.logger.messages('warn')).toEqual(expect.arrayContaining(['8x8 webhook skipped: it is about another conversation', '8x8 webhook skipped: body is not JSON']));
  });

  it('skips an agent file whose link expired, keeping the message', async () => {
    const before = env.receiver.received.length;
    env.simulator.sendAgentFile(conversationId, { fileName: 'gone.txt', contentBase64: Buffer.from('bytes').toString('base64'), text: 'see file' });
    await env.simulator.whenDeliveriesSettled();
    const [webhook] = env.receiver.received.slice(before);
    const body = webhook.body as { data: { attachments: Array<{ preSignedUrl: string }> } };
    for (const link of env.simulator.repository.presignedLinks.values()) link.expiresAt = 0;
    const { events } = await gateway.handleWebhook(ctx, inboundFrom(webhook));
    expect(events.map((event) => event.type)).toEqual(['agent_message']);
    expect(ctx.logger.messages('warn')).toContain('8x8 agent file gone.txt not fetched: HTTP 403');
    expect(body.data.attachments).toHaveLength(1);
  });

  /** An agent file's webhook and its pre-signed link's record in the simulator. */
  async function agentFile(fileName: string, content: string) {
    const [webhook] = await deliveriesOf(() => env.simulator.sendAgentFile(conversationId, { fileName, contentBase64: Buffer.from(content).toString('base64'), text: `file ${fileName}` }));
    const token = /\/sim\/files\/([^/]+)\//.exec(JSON.stringify(webhook.body))![1];
    return { webhook, url: new URL(`/sim/files/${token}/${fileName}`, env.baseUrl).toString(), link: env.simulator.repository.presignedLinks.get(token)! };
  }

  it('follows a storage redirect to an allowed place, but not one to a metadata address', async () => {
    const target = await agentFile('target.txt', 'moved bytes');
    const moved = await agentFile('moved.txt', 'never served');
    moved.link.redirectTo = target.url;
    const followed = await gateway.handleWebhook(ctx, inboundFrom(moved.webhook));
    expect(followed.events.map((event) => [event.type, (event.data as { attachment?: { content: Buffer } }).attachment?.content.toString()])).toEqual([
      ['agent_message', undefined],
      ['attachment', 'moved bytes'],
    ]);

    const sneaky = await agentFile('sneaky.txt', 'never served');
    sneaky.link.redirectTo = 'http://169.254.169.254/latest/meta-data/';
    const { events } = await gateway.handleWebhook(ctx, inboundFrom(sneaky.webhook));
    expect(events.map((event) => event.type)).toEqual(['agent_message']);
    expect(ctx.logger.messages('warn')).toContain('8x8 agent file sneaky.txt not fetched: url redirect target points at a link-local or reserved address');
  });

  it('has the delivery handled again after the storage\'s Retry-After when it answers 429, and after a 5xx', async () => {
    let status = 429;
    const storage = createServer((_req, res) => void res.writeHead(status, status === 429 ? { 'retry-after': '3' } : {}).end());
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    try {
      const busy = await agentFile('busy.txt', 'never served');
      busy.link.redirectTo = `http://127.0.0.1:${(storage.address() as AddressInfo).port}/busy.txt`;
      await expect(gateway.handleWebhook(ctx, inboundFrom(busy.webhook))).rejects.toMatchObject({ code: 'rate_limited', retryAfterMs: 3_000 });
      status = 503;
      await expect(gateway.handleWebhook(ctx, inboundFrom(busy.webhook))).rejects.toMatchObject({ code: 'transient', message: "attachment download: 8x8's storage answered 503" });
    } finally {
      await new Promise((resolve) => storage.close(resolve));
    }
  });

  it('fetches links under the service\'s policy: a loopback link is refused where private networks are not allowed', async () => {
    const { webhook } = await agentFile('local.txt', 'bytes');
    const strict = { ...testContext({ gatewayId: 'gw-webhooks', settings: env.settings(), webhookUrl: env.webhookUrl('gw-webhooks'), allowPrivateNetworks: false }), session: ctx.session, provisioning: ctx.provisioning };
    const { events } = await gateway.handleWebhook(strict, inboundFrom(webhook));
    expect(events.map((event) => event.type)).toEqual(['agent_message']);
    expect(strict.logger.messages('warn')).toContain('8x8 agent file local.txt not fetched: url points at a private or loopback address');
  });

  it("fetches a signing key only where the policy allows: a key URL whose host name resolves to a private address is not requested", async () => {
    // keys.test names the simulator's loopback address, as a DNS record could; the machine's DNS does not know it.
    const resolve: Resolver = (hostname, _options, callback) =>
      hostname === 'keys.test' ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    const strict = new OutboundHttpClient({ allowPrivateNetworks: false, resolve });
    try {
      const keys = `${env.baseUrl.replace('127.0.0.1', 'keys.test')}/chat-gateway/v1/jwk/{kid}/public`;
      const named = testContext({ gatewayId: 'gw-named-keys', settings: env.settings({ basic: { jwkUrlTemplate: keys } }), webhookUrl: ctx.webhookUrl, http: strict });
      const [webhook] = await agentSays('signed, key on a named host');
      const requested = env.simulator.signingKeys.requested.length;
      await expect(gateway.verifyWebhook(named, inboundFrom(webhook))).rejects.toMatchObject({
        code: 'auth_failed',
        message: expect.stringContaining('refused by the outbound policy: keys.test points at a private or loopback address'),
      });
      const probe = await gateway.checkConnection(testContext({ ...named, settings: env.settings({ basic: { baseUrl: env.baseUrl.replace('127.0.0.1', 'keys.test') } }) }));
      expect(probe).toMatchObject({ ok: false, detail: expect.stringContaining('refused by the outbound policy: keys.test points at a private or loopback address') });
      expect(env.simulator.signingKeys.requested.length).toBe(requested);
    } finally {
      strict.destroy();
    }
  });

  it('fetches at most its bound of signing keys for 100 forged deliveries naming made-up kids, and refuses each', async () => {
    const forgedCtx = testContext({ gatewayId: 'gw-forged', settings: env.settings(), webhookUrl: ctx.webhookUrl });
    const [genuine] = await agentSays('genuine, before the forgeries');
    await gateway.verifyWebhook(forgedCtx, inboundFrom(genuine));
    const requested = env.simulator.signingKeys.requested.length;
    const started = Date.now();
    for (let i = 0; i < 100; i++) {
      const header = Buffer.from(JSON.stringify({ b64: false, crit: ['b64'], kid: `made-up-${i}`, alg: 'RS256' })).toString('base64url');
      const forged = { ...genuine, headers: { ...genuine.headers, 'x-8x8-signature': `${header}..${Buffer.from('no signature').toString('base64url')}` } };
      await expect(gateway.verifyWebhook(forgedCtx, inboundFrom(forged))).rejects.toMatchObject({ code: 'auth_failed', status: 401 });
    }
    const bound = JWK_FETCHES.burst + Math.floor((Date.now() - started) / JWK_FETCHES.refillMs);
    const fetches = env.simulator.signingKeys.requested.length - requested;
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThanOrEqual(bound);
    // The key already known still verifies.
    await expect(gateway.verifyWebhook(forgedCtx, inboundFrom(genuine))).resolves.toMatchObject({ platformConversationId: conversationId });
  });
});
