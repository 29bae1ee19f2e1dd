import { ChatGateway, GatewayError, OutboundHttp, OutboundHttpClient, PlatformEvent, Resolver } from '@app/gateway-sdk';
import { GmsSimulator } from '@app/simulators/gms';
import { GenesysPureEngageGateway } from './genesys-pureengage.gateway';
import { escalationRequest, rewritingHttp, TestEscalation, testSettings, types } from './genesys-pureengage.spec-helpers';

const SERVICE = 'customer-support';

describe('GenesysPureEngageGateway against the GMS simulator', () => {
  let gms: GmsSimulator;
  const gateway = new GenesysPureEngageGateway();

  beforeAll(async () => {
    gms = new GmsSimulator({ timeoutAlertSeconds: 0, timeoutCloseSeconds: 0, captureRequests: true });
    await gms.start();
  });
  afterAll(() => gms.stop());
  afterEach(() => gms.clearFaults());

  const escalation = (settings: Parameters<typeof testSettings>[0] = {}) =>
    new TestEscalation(gateway, testSettings({ ...settings, basic: { serviceUrl: gms.baseUrl, serviceName: SERVICE, ...settings.basic } }));

  it('declares its type, capabilities and polling interval', () => {
    expect(gateway.definition).toMatchObject({ type: 'genesys-pureengage', kind: 'escalation' });
    expect(gateway.definition.capabilities.sort()).toEqual(['attachments', 'polling', 'push-url', 'typing']);
    expect((gateway as ChatGateway).transferEscalation).toBeUndefined();
    expect(gateway.pollIntervalMs(testSettings())).toBe(1000);
    expect(gateway.pollIntervalMs(testSettings({ additional: { clientPollingIntervalSeconds: 2.5 } }))).toBe(2500);
  });

  it('requests a chat with the user, attributes, queue, channel and the bot history visible to the agent', async () => {
    const esc = escalation();
    const start = await esc.start(
      escalationRequest({
        user: { firstName: 'Jo', lastName: 'Client', name: 'Jo C.', email: 'jo@example.com', language: 'en' },
        attributes: { orderId: 'A-17', reason: 'refund' },
        queue: 'billing',
        history: [
          { author: 'user', text: 'I want a refund', time: '2024-05-01T10:00:00Z' },
          {
            author: 'bot',
            text: 'Here is our policy',
            time: '2024-05-01T10:00:02Z',
            attachments: [{ name: 'policy.pdf', mimeType: 'application/pdf', url: 'https://files.example.com/policy.pdf' }],
            cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Refunds take 5 days' }] } }],
          },
        ],
      }),
    );
    expect(start.session).toEqual({ chatId: expect.any(String), userId: expect.any(String), secureKey: expect.any(String), alias: expect.any(String) });
    expect(start.cursor).toBe('2');
    const chat = gms.getChat(String(start.session.chatId))!;
    expect(chat).toMatchObject({ queue: 'billing', nickname: 'Jo C.', firstName: 'Jo', lastName: 'Client', emailAddress: 'jo@example.com' });
    expect(chat.userData).toMatchObject({
      orderId: 'A-17',
      reason: 'refund',
      queue: 'billing',
      channel: 'genesyspureengage',
      escalationId: 'esc-1',
      conversationId: 'conv-1',
      sourceChannel: 'webchat',
      GCTI_LanguageCode: 'en',
    });
    const history = chat.transcript.filter((e) => e.type === 'Message' && e.from.type === 'Client').map((e) => e.text).join('\n');
    expect(history).toContain('[10:00:00] Customer: I want a refund');
    expect(history).toContain('[10:00:02] Virtual agent: Here is our policy');
    expect(history).toContain('Refunds take 5 days');
    expect(history).toContain('[Attachment: policy.pdf (application/pdf)] https://files.example.com/policy.pdf');
    // The history comes back in the first poll as our own lines: nothing for the bot platform.
    expect(await esc.poll()).toEqual([]);
  });

  it('falls back to the Escalation Queue setting, then to the service name', async () => {
    const withSetting = escalation({ configuration: { escalationQueue: 'general' } });
    const a = await withSetting.start(escalationRequest());
    expect(gms.getChat(String(a.session.chatId))!.queue).toBe('general');
    const without = escalation();
    const b = await without.start(escalationRequest());
    expect(gms.getChat(String(b.session.chatId))!.queue).toBe(SERVICE);
  });

  it('relays a whole agent conversation as normalized events, each once, and the end by the agent', async () => {
    const esc = escalation();
    const { session } = await esc.start(escalationRequest({ queue: 'flow' }));
    const chatId = String(session.chatId);
    expect(await esc.poll()).toEqual([]);

    gms.agentJoin(chatId, { nickname: 'Ann' });
    gms.agentStartTyping(chatId);
    gms.agentSendMessage(chatId, 'Hello, I am Ann');
    gms.agentStopTyping(chatId);
    gms.agentPushUrl(chatId, 'https://example.com/help');
    gms.agentSendFile(chatId, { name: 'label.txt', mimeType: 'text/plain', content: Buffer.from('return label') });
    gms.systemMessage(chatId, { text: 'Your chat is being recorded', type: 'External' });
    const events = await esc.poll();
    expect(types(events)).toEqual(['agent_joined', 'agent_typing_started', 'agent_message', 'agent_typing_stopped', 'push_url', 'attachment', 'notice']);
    expect(events[0]).toMatchObject({ key: 'idx:2', data: { agent: { id: '2', name: 'Ann' } } });
    expect(events[0].occurredAt).toBeInstanceOf(Date);
    expect(events[2].data).toEqual({ text: 'Hello, I am Ann' });
    expect(events[4].data).toEqual({ url: 'https://example.com/help' });
    const attachment = events[5] as Extract<PlatformEvent, { type: 'attachment' }>;
    expect(attachment.data.attachment).toMatchObject({ name: 'label.txt', mimeType: 'text/plain', size: 12 });
    expect(attachment.data.attachment.content.toString()).toBe('return label');
    expect(events[6].data).toEqual({ text: 'Your chat is being recorded' });
    expect(new Set(events.map((e) => e.key)).size).toBe(events.length);

    // The cursor advanced: nothing comes twice.
    expect(await esc.poll()).toEqual([]);
    gms.agentSendMessage(chatId, 'Anything else?');
    expect(await esc.poll()).toEqual([expect.objectContaining({ type: 'agent_message', data: { text: 'Anything else?' } })]);

    gms.agentClose(chatId);
    const end = await esc.poll();
    expect(types(end)).toEqual(['agent_left', 'ended']);
    expect(end[1]).toMatchObject({ key: 'ended', data: { by: 'agent' } });
  });

  it('names the agent on every agent event with Customer Agent Info on', async () => {
    const esc = escalation({ configuration: { customerAgentInfo: true } });
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    gms.agentJoin(chatId, { nickname: 'Ann' });
    gms.agentSendMessage(chatId, 'Hi');
    const events = await esc.poll();
    expect(events[1].data).toEqual({ agent: { id: '2', name: 'Ann' }, text: 'Hi' });
  });

  it('sends user text, typing, cards and files to the agent', async () => {
    const esc = escalation();
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    gms.agentJoin(chatId);
    const ctx = () => esc.context();

    await gateway.sendTyping(ctx(), true);
    await gateway.sendTyping(ctx(), false);
    esc.attachments.set('att-1', Buffer.from('%PDF-1.4 receipt'));
    await gateway.sendMessage(ctx(), {
      id: 'm-1',
      text: 'Here is my receipt',
      attachments: [{ id: 'att-1', name: 'receipt.pdf', mimeType: 'application/pdf', size: 16 }],
      cards: [{ contentType: 'application/vnd.microsoft.card.hero', content: { title: 'Order A-17', buttons: [{ type: 'imBack', title: 'Yes' }] } }],
    });

    const chat = gms.getChat(chatId)!;
    const fromClient = chat.transcript.filter((e) => e.from.type === 'Client').map((e) => e.type);
    expect(fromClient).toEqual(['ParticipantJoined', 'TypingStarted', 'TypingStopped', 'Message', 'FileUploaded']);
    expect(chat.transcript.find((e) => e.type === 'Message' && e.from.type === 'Client')!.text).toBe('Here is my receipt\nOrder A-17\n[Yes]');
    const file = chat.files.find((f) => f.uploadedBy === 'Client')!;
    expect(file).toMatchObject({ name: 'receipt.pdf', mimeType: 'application/pdf', size: 16 });
    expect(file.metadata).toMatchObject({ 'file-description': 'receipt.pdf', messageId: 'm-1' });
    expect(gms.fileContent(chatId, file.fileId)!.content.toString()).toBe('%PDF-1.4 receipt');
    // Our own echo never comes back as an event.
    expect(types(await esc.poll())).toEqual(['agent_joined']);
  });

  it('sends a text line instead of a file GMS refuses, and instead of any file with Support Present Content off', async () => {
    const esc = escalation();
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    esc.attachments.set('exe', Buffer.from('MZ'));
    await gateway.sendMessage(esc.context(), { id: 'm', attachments: [{ id: 'exe', name: 'tool.exe', mimeType: 'application/octet-stream' }] });
    const lines = () => gms.getChat(chatId)!.transcript.filter((e) => e.type === 'Message' && e.from.type === 'Client').map((e) => e.text);
    expect(lines()).toEqual(['[Attachment: tool.exe (application/octet-stream), not delivered: refused by Genesys]']);
    expect(esc.warnings.map((w) => w.message)).toContain('GMS refused a file upload; sending a text line instead');

    esc.settings = testSettings({ basic: esc.settings.basic, configuration: { supportPresentContent: false } });
    esc.attachments.set('pdf', Buffer.from('%PDF'));
    await gateway.sendMessage(esc.context(), {
      id: 'm2',
      text: 'see file',
      attachments: [{ id: 'pdf', name: 'a.pdf', mimeType: 'application/pdf', url: 'https://files.example.com/a.pdf' }],
      cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [] } }],
    });
    expect(lines()[1]).toBe(
      'see file\n[Card: application/vnd.microsoft.card.adaptive]\n[Attachment: a.pdf (application/pdf), not delivered: content presentation is off] https://files.example.com/a.pdf',
    );
    expect(gms.getChat(chatId)!.files).toEqual([]);
  });

  it('turns an agent file GMS will not hand out into a notice', async () => {
    const stingy = new GmsSimulator({ fileLimits: { downloadAttempts: 0 } });
    const baseUrl = await stingy.start();
    try {
      const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: baseUrl, serviceName: SERVICE } }));
      const chatId = String((await esc.start(escalationRequest())).session.chatId);
      stingy.agentJoin(chatId);
      stingy.agentSendFile(chatId, { name: 'a.txt', content: Buffer.from('x') });
      const events = await esc.poll();
      expect(types(events)).toEqual(['agent_joined', 'notice']);
      expect(events[1]).toMatchObject({ key: 'idx:3', data: { text: 'The agent sent the file "a.txt", which could not be relayed.' } });
    } finally {
      await stingy.stop();
    }
  });

  it('reports an agent leaving and a transfer as agent_left and a notice, without ending', async () => {
    const esc = escalation();
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    gms.agentJoin(chatId, { nickname: 'Ann' });
    gms.agentTransfer(chatId, { queue: 'tier2', notice: 'Transferred to tier 2' });
    expect(await esc.poll()).toEqual([
      expect.objectContaining({ type: 'agent_joined' }),
      expect.objectContaining({ type: 'agent_left', data: { agent: { id: '2', name: 'Ann' } } }),
      expect.objectContaining({ type: 'notice', data: { text: 'Transferred to tier 2' } }),
    ]);
  });

  it('ends by timeout when Chat Server closes the chat for inactivity', async () => {
    const idle = new GmsSimulator({ timeoutAlertSeconds: 0, timeoutCloseSeconds: 0.05, sweepIntervalMs: 10_000 });
    const baseUrl = await idle.start();
    try {
      const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: baseUrl, serviceName: SERVICE } }));
      const chatId = String((await esc.start(escalationRequest())).session.chatId);
      idle.agentJoin(chatId);
      idle.sweep(Date.now() + 1000);
      const events = await esc.poll();
      expect(types(events)).toEqual(['agent_joined', 'notice', 'ended']);
      expect(events[2].data).toEqual({ by: 'timeout', reason: 'Chat session closed due to inactivity of chat participants.' });
    } finally {
      await idle.stop();
    }
  });

  it('follows alias, userId and secureKey rotation and reports every change', async () => {
    const rotating = new GmsSimulator({ rotateAliasEvery: 1, rotateCredentials: true });
    const baseUrl = await rotating.start();
    try {
      const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: baseUrl, serviceName: SERVICE } }));
      const start = await esc.start(escalationRequest({ history: [{ author: 'user', text: 'hi', time: '2024-05-01T10:00:00Z' }] }));
      const chatId = String(start.session.chatId);
      // Request Chat and the history line each rotated the identifiers; the start reports the last ones.
      expect(start.session).toMatchObject({ alias: rotating.getChat(chatId)!.alias, secureKey: rotating.getChat(chatId)!.secureKey });
      rotating.agentJoin(chatId);
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const before = esc.session!.secureKey;
        const update = esc.apply(await gateway.sendTyping(esc.context(), i % 2 === 0));
        expect(update.session?.secureKey).toBeDefined();
        expect(update.session!.secureKey).not.toBe(before);
        seen.add(String(update.session!.alias));
      }
      expect(types(await esc.poll())).toEqual(['agent_joined']);
      await gateway.sendMessage(esc.context(), { id: 'm', text: 'still here' });
      expect(seen.size).toBeGreaterThan(1);
      expect(rotating.getChat(chatId)!.transcript.some((e) => e.text === 'still here')).toBe(true);
    } finally {
      await rotating.stop();
    }
  });

  it('calls overridden endpoint paths (API Endpoint Overrides)', async () => {
    const custom = new GmsSimulator({ operationPaths: { startTyping: 'typing/start', stopTyping: 'typing/stop', refresh: 'poll' } });
    const baseUrl = await custom.start();
    try {
      const plain = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: baseUrl, serviceName: SERVICE } }));
      await plain.start(escalationRequest());
      await expect(gateway.sendTyping(plain.context(), true)).rejects.toMatchObject({ code: 'invalid_request', status: 404 });

      const overridden = new TestEscalation(
        gateway,
        testSettings({ basic: { serviceUrl: baseUrl, serviceName: SERVICE, apiEndpointOverrides: { startTyping: 'typing/start', stopTyping: '/typing/stop/', refresh: 'poll' } } }),
      );
      const chatId = String((await overridden.start(escalationRequest())).session.chatId);
      await gateway.sendTyping(overridden.context(), true);
      await gateway.sendTyping(overridden.context(), false);
      custom.agentJoin(chatId);
      expect(types(await overridden.poll())).toEqual(['agent_joined']);
      // The call on the default path matched no operation (404), so only the overridden ones are counted.
      expect(custom.requestLog().counts).toMatchObject({ startTyping: 1, stopTyping: 1, refresh: 1 });
    } finally {
      await custom.stop();
    }
  });

  it('disconnects when the user leaves, and leaving again is harmless', async () => {
    const esc = escalation();
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    expect(await gateway.endEscalation(esc.context())).toEqual({ events: [] });
    expect(gms.getChat(chatId)).toMatchObject({ state: 'ended', endReason: 'client-disconnected' });
    await expect(gateway.endEscalation(esc.context())).resolves.toEqual({ events: [] });
  });

  it('takes max(index)+1 as the cursor when GMS leaves out nextPosition', async () => {
    const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: gms.baseUrl, serviceName: SERVICE } }));
    esc.http = rewritingHttp((_url, body) => {
      delete body.nextPosition;
      return body;
    });
    const start = await esc.start(escalationRequest());
    expect(start.cursor).toBe('2');
    const chatId = String(start.session.chatId);
    gms.agentJoin(chatId);
    gms.agentSendMessage(chatId, 'one');
    expect(types(await esc.poll())).toEqual(['agent_joined', 'agent_message']);
    expect(esc.cursor).toBe('4');
    expect(await esc.poll()).toEqual([]);
    expect(esc.cursor).toBe('4');
  });

  it('skips malformed transcript items with a warning and keeps the rest', async () => {
    const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: gms.baseUrl, serviceName: SERVICE } }));
    esc.http = rewritingHttp(
      (_url, body) => {
        const messages = body.messages as unknown[];
        if (messages.length > 0) messages.push(null, { index: 900, type: 'Message', from: { type: 'Agent', participantId: 2, nickname: 'Ann' }, text: 42 }, { index: 901, type: 'Teleport', from: { type: 'Agent', participantId: 2, nickname: 'Ann' } });
        return body;
      },
      (url) => url.endsWith('/refresh'),
    );
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    gms.agentJoin(chatId);
    expect(types(await esc.poll())).toEqual(['agent_joined']);
    expect(esc.warnings.map((w) => w.fields)).toEqual(
      expect.arrayContaining([expect.objectContaining({ index: 900, type: 'Message' }), expect.objectContaining({ index: 901, type: 'Teleport' })]),
    );
    expect(JSON.stringify(esc.log)).not.toContain(String(esc.session!.secureKey));
  });

  it('refuses to work without a stored session', async () => {
    const esc = escalation();
    await expect(gateway.poll(esc.context(), null)).rejects.toMatchObject({ code: 'session_gone' });
    await expect(gateway.endEscalation(esc.context())).resolves.toEqual({ events: [] });
  });

  describe('checkConnection', () => {
    it('succeeds against a live service', async () => {
      const ctx = escalation().context();
      const before = gms.listChats().length;
      await expect(gateway.checkConnection(ctx)).resolves.toMatchObject({ ok: true, detail: expect.stringContaining(SERVICE) });
      // The probe asks about a chat that cannot exist: it creates none.
      expect(gms.listChats().length).toBe(before);
    });

    it('tells an unreachable host from an unknown service', async () => {
      const closed = new GmsSimulator();
      const url = await closed.start();
      await closed.stop();
      const unreachable = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: url, serviceName: SERVICE } }));
      const down = await gateway.checkConnection(unreachable.context());
      expect(down.ok).toBe(false);
      expect(down.detail).toMatch(/^unreachable/);

      const strict = new GmsSimulator({ serviceNames: ['sales'] });
      const strictUrl = await strict.start();
      try {
        const wrong = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: strictUrl, serviceName: 'nope' } }));
        const unknown = await gateway.checkConnection(wrong.context());
        expect(unknown).toMatchObject({ ok: false });
        expect(unknown.detail).toMatch(/^unknown service/);
        await expect(gateway.startEscalation(wrong.context(), escalationRequest())).rejects.toMatchObject({ code: 'invalid_request', status: 404 });
      } finally {
        await strict.stop();
      }
    });

    it('reports settings it cannot use', async () => {
      const ctx = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: 'ftp://x', serviceName: SERVICE } })).context();
      await expect(gateway.checkConnection(ctx)).resolves.toMatchObject({ ok: false, detail: expect.stringMatching(/^settings: Service URL/) });
      await expect(gateway.startEscalation(ctx, escalationRequest())).rejects.toBeInstanceOf(GatewayError);
    });
  });

  describe('under the outbound policy', () => {
    /** gms.test names the simulator's loopback address, as a DNS record could; the machine's DNS does not know it. */
    const resolve: Resolver = (hostname, _options, callback) =>
      hostname === 'gms.test' ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    const strict = new OutboundHttpClient({ allowPrivateNetworks: false, resolve });
    const allowing = new OutboundHttpClient({ allowPrivateNetworks: true, resolve });
    afterAll(() => [strict, allowing].forEach((http) => http.destroy()));
    const named = (http: OutboundHttp) => {
      const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: gms.baseUrl.replace('127.0.0.1', 'gms.test'), serviceName: SERVICE } }));
      esc.http = http;
      return esc;
    };

    it('does not call a service URL whose host name resolves to an address the policy denies', async () => {
      const before = gms.requestLog().requests?.length ?? 0;
      const probe = await gateway.checkConnection(named(strict).context());
      expect(probe).toEqual({ ok: false, detail: 'unreachable: GMS refresh: refused by the outbound policy: gms.test points at a private or loopback address' });
      await expect(named(strict).start(escalationRequest())).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringContaining('gms.test points at a private') });
      expect(gms.requestLog().requests?.length ?? 0).toBe(before);
      // The same name where private networks are allowed: the calls go through.
      await expect(named(allowing).start(escalationRequest())).resolves.toMatchObject({ session: { chatId: expect.any(String) } });
    });
  });
});
