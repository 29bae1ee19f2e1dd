import { GatewayError, PlatformEvent } from '@app/gateway-sdk';
import { seedEscalation } from './eight-by-eight.fixtures';
import { EightByEightGateway } from './eight-by-eight.gateway';
import { EightByEightTestEnvironment, inboundFrom, startEightByEight, TEST_API_KEY, testContext, TestContext, WebhookTap } from './eight-by-eight-test.context';

/**
 * Contract tests of the 8x8 gateway against the 8x8 simulator. The simulator checks every Chat Gateway request the
 * gateway sends against 8x8's OpenAPI document; after each test it must have recorded no violation.
 */
describe('8x8 gateway against the 8x8 simulator', () => {
  const gateway = new EightByEightGateway();
  let env: EightByEightTestEnvironment;
  let tap: WebhookTap;

  beforeAll(async () => {
    env = await startEightByEight();
    expect(env.simulator.validating).toBe(true);
    tap = new WebhookTap(env, gateway);
  });
  afterAll(() => env.stop());
  beforeEach(() => tap.skip());
  afterEach(() => expect(env.simulator.oasViolations()).toEqual([]));

  /** A deployed gateway's context (its own webhook URL and names, so tests do not share provisioning). */
  async function deployed(gatewayId: string, values: Parameters<EightByEightTestEnvironment['settings']>[0] = {}, attachments?: Map<string, Buffer>): Promise<TestContext> {
    const ctx = testContext({ gatewayId, settings: env.settings(values), webhookUrl: env.webhookUrl(gatewayId), timeoutMs: 30_000, attachments });
    ctx.provisioning = await gateway.deploy(ctx);
    tap.skip();
    return ctx;
  }

  async function started(ctx: TestContext, request = seedEscalation()): Promise<string> {
    const result = await gateway.startEscalation(ctx, request);
    ctx.session = result.session;
    // The interaction (and QUEUED) follows the 202 a moment later, as on the real platform.
    await env.simulator.whenDeliveriesSettled();
    return String(result.session.conversationId);
  }

  const types = (events: PlatformEvent[]) => events.map((event) => event.type);

  describe('deploy', () => {
    it('creates the webhook and a ChatAPI channel on the default queue, and finds them again on a second deploy', async () => {
      const ctx = testContext({ gatewayId: 'gw-deploy', settings: env.settings(), webhookUrl: env.webhookUrl('gw-deploy') });
      const first = await gateway.deploy(ctx);
      const second = await gateway.deploy(ctx);
      expect(second).toEqual(first);
      const webhooks = [...env.simulator.repository.webhooks.values()].filter((webhook) => webhook.uri === ctx.webhookUrl);
      expect(webhooks).toEqual([expect.objectContaining({ id: first.webhookId, name: 'chat-gateway gw-deploy', version: 'Chat Gateway v1.0' })]);
      expect(env.simulator.repository.channels.get(String(first.channelId))).toMatchObject({
        name: 'chat-gateway gw-deploy',
        type: 'ChatAPI',
        webHookId: first.webhookId,
        routingOptions: { type: 'queue', id: '101' },
      });
    });

    it('answers 8x8\'s WEB_HOOK_VERIFY as a delivery about no conversation', async () => {
      const ctx = testContext({ gatewayId: 'gw-verify', settings: env.settings(), webhookUrl: env.webhookUrl('gw-verify') });
      const before = env.receiver.received.length;
      await gateway.deploy(ctx);
      const hellos = env.receiver.received.slice(before).filter((webhook) => webhook.body.eventType === 'WEB_HOOK_VERIFY');
      expect(hellos).toHaveLength(1);
      const verified = await gateway.verifyWebhook(ctx, inboundFrom(hellos[0]));
      expect(verified).toEqual({ eventId: hellos[0].headers['x-8x8-event-id'], platformConversationId: null, occurredAt: expect.any(Date) });
      expect((await gateway.handleWebhook(ctx, inboundFrom(hellos[0]))).events).toEqual([]);
    });

    it('re-routes its channel when the default queue changes, keeping the ids', async () => {
      const first = await deployed('gw-requeue');
      const again = testContext({ gatewayId: 'gw-requeue', settings: env.settings({ configuration: { defaultQueueId: '102' } }), webhookUrl: env.webhookUrl('gw-requeue') });
      expect(await gateway.deploy(again)).toEqual(first.provisioning);
      expect(env.simulator.repository.channels.get(String(first.provisioning.channelId))?.routingOptions.id).toBe('102');
    });

    it('uses a configured channel as is when provisioning is off', async () => {
      const provisioned = await deployed('gw-manual-source');
      const ctx = testContext({
        gatewayId: 'gw-manual',
        settings: env.settings({ configuration: { provisionOnDeploy: false, channelId: provisioned.provisioning.channelId } }),
        webhookUrl: env.webhookUrl('gw-manual'),
      });
      const webhooksBefore = env.simulator.repository.webhooks.size;
      expect(await gateway.deploy(ctx)).toEqual(provisioned.provisioning);
      expect(env.simulator.repository.webhooks.size).toBe(webhooksBefore);
    });
  });

  describe('an escalation from hand-over to the end', () => {
    it('creates the conversation with user, attributes and history, then reports queue, agent, typing, messages, files, transfer and the end in order', async () => {
      const photo = Buffer.from('\x89PNG fake image bytes');
      const ctx = await deployed('gw-flow', {}, new Map([['file-1', photo]]));
      const all: PlatformEvent[] = [];
      const step = async (expected: string[]) => {
        const { events } = await tap.drain(ctx);
        expect(types(events)).toEqual(expected);
        all.push(...events);
        return events;
      };

      const result = await gateway.startEscalation(ctx, seedEscalation());
      ctx.session = result.session;
      const id = String(result.session.conversationId);
      expect(result.platformConversationId).toBe(id);
      const conversation = env.simulator.getConversation(id) as Record<string, any>;
      expect(conversation.user).toMatchObject({
        name: 'James Jones',
        userId: 'bot-conv-42',
        caseId: 'esc-0001',
        email: 'user@example.com',
        additionalProperties: [
          { key: 'Authenticated', value: 'yes' },
          { key: 'Intent', value: 'balance' },
          { key: 'AccountType', value: 'credit' },
        ],
      });
      expect(conversation.history.map((entry: { text: string }) => entry.text)).toEqual(seedEscalation().history.map((entry) => entry.text));
      expect((await step(['queued']))[0].data).toEqual({ queueId: '101', queueName: 'Support' });

      await gateway.transferEscalation(ctx, '102');
      expect((await step(['queued']))[0].data).toEqual({ queueId: '102', queueName: 'Sales' });

      env.simulator.acceptConversation(id, { agentId: 'agent-7', agentName: 'Ann' });
      expect((await step(['agent_joined']))[0].data).toEqual({ agent: { id: 'agent-7' } });

      env.simulator.setAgentTyping(id, true);
      env.simulator.setAgentTyping(id, false);
      await step(['agent_typing_started', 'agent_typing_stopped']);

      await gateway.sendTyping(ctx, true);
      await gateway.sendTyping(ctx, false);
      expect((env.simulator.getConversation(id) as Record<string, any>).signals).toEqual([expect.objectContaining({ kind: 'typing', authorType: 'user' })]);

      const card = { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.3', body: [{ type: 'TextBlock', text: 'Order #1' }] } };
      await gateway.sendMessage(ctx, { id: 'm-1', text: 'Here is a photo', attachments: [{ id: 'file-1', name: 'photo.png', mimeType: 'image/png' }], cards: [card] });
      const sent = (env.simulator.repository.conversations.get(id)?.messages ?? []).at(-1);
      expect(sent).toMatchObject({ text: 'Here is a photo', authorType: 'user', cards: [expect.objectContaining({ contentType: card.contentType, content: card.content })] });
      const uploaded = env.simulator.repository.conversations.get(id)?.attachments.find((attachment) => attachment.id === sent?.attachmentIds[0]);
      expect(uploaded).toMatchObject({ filename: 'photo.png', mimeType: 'image/png', content: photo });
      await step([]); // the echo is not the agent speaking

      env.simulator.sendAgentMessage(id, { text: 'Hello, I am Ann' });
      expect((await step(['agent_message']))[0].data).toEqual({ agent: { id: 'agent-7' }, text: 'Hello, I am Ann' });

      const invoice = Buffer.from('%PDF-1.4 invoice');
      env.simulator.sendAgentFile(id, { fileName: 'invoice.pdf', contentBase64: invoice.toString('base64'), mimeType: 'application/pdf', text: 'Your invoice' });
      const [message, file] = await step(['agent_message', 'attachment']);
      expect(file.key).toBe(`${message.key}:att:0`);
      expect(file.data).toEqual({ agent: { id: 'agent-7' }, attachment: { name: 'invoice.pdf', mimeType: 'application/pdf', size: invoice.length, content: invoice } });

      env.simulator.transferConversation(id, { queueId: '103' });
      const transfer = await step(['transferred', 'agent_left', 'queued']);
      expect(transfer[2].data).toEqual({ queueId: '103', queueName: 'Billing' });

      env.simulator.acceptConversation(id, { agentId: 'agent-8', agentName: 'Bob' });
      await step(['agent_joined']);
      env.simulator.leaveConversation(id);
      const end = await step(['agent_left', 'ended']);
      expect(end[1].data).toEqual({ by: 'agent', reason: '8x8 conversation went idle' });

      expect(new Set(all.map((event) => event.key)).size).toBe(all.length);
      for (let index = 1; index < all.length; index++) expect(all[index].occurredAt.getTime()).toBeGreaterThanOrEqual(all[index - 1].occurredAt.getTime());
    });

    it('ends the 8x8 conversation when the user leaves, and does not mind doing it twice', async () => {
      const ctx = await deployed('gw-user-ends');
      const id = await started(ctx);
      await tap.drain(ctx);
      await gateway.endEscalation(ctx);
      const { events } = await tap.drain(ctx);
      expect(events.map((event) => [event.type, event.data])).toEqual([
        ['ended', { by: 'user', reason: 'the user left the 8x8 conversation' }],
        ['ended', { by: 'agent', reason: '8x8 conversation went idle' }],
      ]);
      expect(env.simulator.getConversation(id)).toMatchObject({ state: 'idle', endedBy: 'user' });
      await expect(gateway.endEscalation(ctx)).resolves.toEqual({ events: [] });
      await expect(gateway.endEscalation({ ...ctx, session: { conversationId: 'no-such-conversation' } })).resolves.toEqual({ events: [] });
    });

    it('arranges the hand-back to its webhook and reports the agent closing as the end', async () => {
      const ctx = await deployed('gw-hand-back', { configuration: { transferBackOnAgentClose: true } });
      const id = await started(ctx);
      expect((env.simulator.getConversation(id) as Record<string, any>).postAgentAssignment).toMatchObject({ type: 'webhook', id: ctx.provisioning.webhookId });
      env.simulator.acceptConversation(id);
      env.simulator.leaveConversation(id);
      const { events } = await tap.drain(ctx);
      expect(types(events)).toEqual(['queued', 'agent_joined', 'agent_left', 'ended']);
      expect(events[3].data).toEqual({ by: 'agent', reason: 'agent closed; 8x8 handed the conversation back to the bot' });
    });

    it('refuses to transfer once an agent has the conversation', async () => {
      const ctx = await deployed('gw-late-transfer');
      const id = await started(ctx);
      env.simulator.acceptConversation(id);
      await expect(gateway.transferEscalation(ctx, '102')).rejects.toMatchObject({ code: 'invalid_request', status: 409 });
    });

    it('reports a conversation 8x8 does not know as gone', async () => {
      const ctx = await deployed('gw-gone');
      ctx.session = { conversationId: 'no-such-conversation' };
      await expect(gateway.sendMessage(ctx, { id: 'm', text: 'hello?' })).rejects.toMatchObject({ code: 'session_gone', status: 404 });
    });
  });

  describe('legacy Chat API v2 events', () => {
    it('understands the flat v2 catalogue, and takes an AGENT_LEFT that is not part of a transfer as the agent closing', async () => {
      const ctx = await deployed('gw-legacy');
      env.simulator.setWebhookEventFormat(String(ctx.provisioning.webhookId), 'legacy-v2');
      const id = await started(ctx);
      env.simulator.acceptConversation(id, { agentId: 'cmalutan', agentName: 'Cosmin,Malutan' });
      env.simulator.sendAgentMessage(id, { text: 'Hi, Cosmin here' });
      await gateway.sendMessage(ctx, { id: 'm', text: 'Hello Cosmin' });
      env.simulator.transferConversation(id, { queueId: '102' });
      env.simulator.acceptConversation(id, { agentId: 'agent-2', agentName: 'Second' });
      env.simulator.leaveConversation(id);
      const { events } = await tap.drain(ctx);
      expect(events.map((event) => [event.type, event.data])).toEqual([
        ['queued', { queueId: '101', queueName: 'Support' }],
        ['agent_joined', { agent: { id: 'cmalutan', name: 'Cosmin,Malutan' } }],
        ['agent_message', { agent: { id: 'cmalutan', name: 'Cosmin,Malutan' }, text: 'Hi, Cosmin here' }],
        ['transferred', {}],
        ['agent_left', { agent: { id: 'cmalutan', name: 'Cosmin,Malutan' } }],
        ['queued', { queueId: '102', queueName: 'Sales' }],
        ['agent_joined', { agent: { id: 'agent-2', name: 'Second' } }],
        ['agent_left', { agent: { id: 'agent-2', name: 'Second' } }],
        // v2 sends no idle update: without this the escalation would never end.
        ['ended', { by: 'agent', reason: 'the agent left (8x8 legacy events announce no idle conversation)' }],
      ]);
      expect(ctx.session).toMatchObject({ conversationId: id, transferPending: false });
    });

    it('does not end a legacy escalation on the AGENT_LEFT of a transfer, even when the next agent is slow', async () => {
      const ctx = await deployed('gw-legacy-transfer');
      env.simulator.setWebhookEventFormat(String(ctx.provisioning.webhookId), 'legacy-v2');
      const id = await started(ctx);
      env.simulator.acceptConversation(id, { agentId: 'first', agentName: 'First' });
      env.simulator.transferConversation(id, { queueId: '103' });
      const transfer = await tap.drain(ctx);
      expect(types(transfer.events)).toEqual(['queued', 'agent_joined', 'transferred', 'agent_left', 'queued']);
      expect(ctx.session).toMatchObject({ transferPending: true });
      env.simulator.acceptConversation(id, { agentId: 'second', agentName: 'Second' });
      env.simulator.leaveConversation(id);
      expect(types((await tap.drain(ctx)).events)).toEqual(['agent_joined', 'agent_left', 'ended']);
    });
  });

  describe('agent availability', () => {
    it('answers from the real-time metrics and refuses to escalate into an empty queue', async () => {
      env.simulator.setQueue('201', { name: 'Night shift', agents: { available: 0, busy: 3 } });
      const ctx = await deployed('gw-availability', { configuration: { checkAgentAvailability: true } });
      await expect(gateway.checkAvailability(ctx, '201')).resolves.toEqual({ available: false, agents: 0 });
      await expect(gateway.checkAvailability(ctx, undefined)).resolves.toEqual({ available: true, agents: 2 });
      const conversationsBefore = env.simulator.repository.conversations.size;
      const refusal = gateway.startEscalation(ctx, seedEscalation({ queue: '201' }));
      await expect(refusal).rejects.toBeInstanceOf(GatewayError);
      await expect(refusal).rejects.toMatchObject({ code: 'no_agents_available' });
      expect(env.simulator.repository.conversations.size).toBe(conversationsBefore);
    });

    it('queues anyway with a notice when told to', async () => {
      env.simulator.setQueue('202', { agents: { available: 0 } });
      const ctx = await deployed('gw-availability-queue', { configuration: { checkAgentAvailability: true, noAgentsBehaviour: 'queue' } });
      const result = await gateway.startEscalation(ctx, seedEscalation({ queue: '202' }));
      await env.simulator.whenDeliveriesSettled();
      expect(result.events).toEqual([expect.objectContaining({ type: 'notice', data: { text: 'No agent is available in queue 202 right now; waiting in the queue.' } })]);
      expect(env.simulator.listConversations().waiting['202']).toHaveLength(1);
    });

    it('reuses an answer for the availability refresh seconds, then asks again', async () => {
      env.simulator.setQueue('203', { agents: { available: 0 } });
      const ctx = await deployed('gw-availability-cache');
      await expect(gateway.checkAvailability(ctx, '203')).resolves.toEqual({ available: false, agents: 0 });
      env.simulator.setQueue('203', { agents: { available: 4 } });
      await expect(gateway.checkAvailability(ctx, '203')).resolves.toEqual({ available: false, agents: 0 });
      const now = Date.now();
      const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 901_000);
      try {
        await expect(gateway.checkAvailability(ctx, '203')).resolves.toEqual({ available: true, agents: 4 });
      } finally {
        clock.mockRestore();
      }
      const uncached = testContext({ gatewayId: 'gw-availability-cache', settings: env.settings({ configuration: { availabilityRefreshSeconds: 0 } }), webhookUrl: ctx.webhookUrl, tokens: ctx.tokens });
      env.simulator.setQueue('203', { agents: { available: 0 } });
      await expect(gateway.checkAvailability(uncached, '203')).resolves.toEqual({ available: false, agents: 0 });
    });

    it('renews a metrics token 8x8 stopped accepting, and reports wrong metrics credentials as auth_failed', async () => {
      const ctx = await deployed('gw-metrics-token', { configuration: { availabilityRefreshSeconds: 0 } });
      await gateway.checkAvailability(ctx, '101');
      env.simulator.expireTokens();
      await expect(gateway.checkAvailability(ctx, '101')).resolves.toEqual({ available: true, agents: 2 });
      const wrong = testContext({ gatewayId: 'gw-metrics-wrong', settings: env.settings({ basic: { metricsClientSecret: 'nope' } }), webhookUrl: ctx.webhookUrl });
      await expect(gateway.checkAvailability(wrong, '101')).rejects.toMatchObject({ code: 'auth_failed' });
    });

    it('escalates anyway when the availability check itself fails', async () => {
      const ctx = await deployed('gw-metrics-broken', { basic: { metricsClientSecret: 'nope' }, configuration: { checkAgentAvailability: true } });
      await started(ctx);
      expect(ctx.logger.messages('warn').some((message) => message.startsWith('8x8 availability unknown, escalating anyway'))).toBe(true);
    });
  });

  describe('connection check', () => {
    it('says ok with good credentials, names a refused key, and names an unreachable host', async () => {
      const base = { gatewayId: 'gw-check', webhookUrl: env.webhookUrl('gw-check') };
      await expect(gateway.checkConnection(testContext({ ...base, settings: env.settings() }))).resolves.toMatchObject({ ok: true });
      const refused = await gateway.checkConnection(testContext({ ...base, settings: env.settings({ basic: { apiKey: `${TEST_API_KEY}-wrong` } }) }));
      expect(refused).toEqual({ ok: false, detail: expect.stringContaining('8x8 refused the credentials') });
      expect(refused.detail).toContain('Access Denied');
      const wrongTenant = await gateway.checkConnection(testContext({ ...base, settings: env.settings({ basic: { tenantId: 'other-tenant' } }) }));
      expect(wrongTenant).toEqual({ ok: false, detail: expect.stringContaining("doesn't match tenant") });
      const unreachable = await gateway.checkConnection(testContext({ ...base, settings: env.settings({ basic: { baseUrl: 'http://127.0.0.1:9' } }) }));
      expect(unreachable).toEqual({ ok: false, detail: expect.stringContaining('8x8 unreachable') });
    });
  });
});
