import { GmsSimulator, ManualClock } from '@app/simulators/gms';
import { BotReceiver, Delivery, waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { escalationBody, SIGNING_SECRET } from '../escalations/fake-setup';

const SERVICE = 'customer-support';
let domainCounter = 0;

/**
 * Escalations through the real service (API and worker in this process), the GMS simulator and a bot platform that
 * verifies every signed delivery: from the request to the agent's close, both ways, and the flex-disconnect rules.
 */
describe('Genesys PureEngage escalation end to end', () => {
  let t: TestApp;
  // Inactivity control off: these chats sit idle for seconds while the test drives the agent.
  const gms = new GmsSimulator({ timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  // Chat Server drops a client that has not polled for its flex-disconnect timeout (45 s); our polling must keep the
  // chat alive. Its clock is moved by the test, so what is checked is whether we polled, not how fast the machine is.
  const flexClock = new ManualClock();
  const flexGms = new GmsSimulator({ clock: flexClock, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  const flexMs = flexGms.options.flexDisconnectSeconds * 1000;
  const receiver = new BotReceiver(SIGNING_SECRET);

  beforeAll(async () => {
    await resetState();
    await gms.start();
    await flexGms.start();
    await receiver.start();
    t = await startTestApp({ POLL_TICK_MS: '100' });
  });
  afterAll(async () => {
    await t?.close();
    await gms.stop();
    await flexGms.stop();
    await receiver.stop();
  });

  /** A domain whose callback is the receiver, and a deployed genesys-pureengage gateway in it. */
  const gmsGateway = async (simulator: GmsSimulator, transferBack: boolean): Promise<{ domain: string; gatewayId: string }> => {
    const domain = `gms${++domainCounter}-${Date.now()}`;
    const d = await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } });
    if (d.status !== 201) throw new Error(`domain: ${d.text}`);
    const g = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'genesys-pureengage',
        settings: {
          basic: { name: `gms-${domain}`, domain, deployed: true, serviceUrl: simulator.baseUrl, serviceName: SERVICE },
          configuration: { transferBackOnAgentClose: transferBack, escalationTimeoutSeconds: 120 },
          additional: { clientPollingIntervalSeconds: 1, apiRetryInitialDelayMs: 100, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
        },
      },
    });
    if (g.status !== 201) throw new Error(`gateway: ${g.text}`);
    return { domain, gatewayId: g.body.id };
  };

  const escalate = async (domain: string, gatewayId: string, externalId: string) => {
    const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, externalId), headers: { 'idempotency-key': externalId } });
    expect(res.status).toBe(202);
    return res.body as { id: string; conversationId: string };
  };

  /** The simulator's chats requested for one escalation (the gateway puts our escalation id into userData). */
  const chatsOf = (simulator: GmsSimulator, escalationId: string) =>
    simulator
      .listChats()
      .map((summary) => simulator.getChat(summary.chatId)!)
      .filter((chat) => chat.userData.escalationId === escalationId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  const relay = async (escalationId: string, body: Record<string, unknown>) => {
    const res = await t.request('POST', `/v1/escalations/${escalationId}/messages`, { body });
    expect(res.status).toBe(202);
  };

  /** The conversation once every event stored in it is recorded delivered, with no retry waiting. */
  const deliveriesSettled = (conversationId: string) =>
    waitFor('every stored event recorded delivered', async () => {
      const conversation = (await t.request('GET', `/v1/conversations/${conversationId}`)).body;
      return conversation.deliveredSeq === conversation.lastSeq && conversation.nextDeliveryAt === null ? (conversation as { lastSeq: number }) : null;
    });

  const expectExactlyOnceInOrder = (delivered: Delivery[]) => {
    expect(delivered.every((d) => d.verified)).toBe(true);
    expect(delivered.map((d) => d.seq)).toEqual(delivered.map((_, i) => i + 1));
    expect(new Set(delivered.map((d) => d.id)).size).toBe(delivered.length);
  };

  it.each([
    { transferBack: true, controlReturnedToBot: true, conversationClosed: false },
    { transferBack: false, controlReturnedToBot: false, conversationClosed: true },
  ])(
    'hands a conversation to a GMS agent and back, both ways in order (transfer back $transferBack)',
    async ({ transferBack, controlReturnedToBot, conversationClosed }) => {
      const { domain, gatewayId } = await gmsGateway(gms, transferBack);
      const escalation = await escalate(domain, gatewayId, `conv-gms-${transferBack}`);
      const types = () => receiver.of(escalation.conversationId).map((d) => d.type);

      const created = await waitFor('the chat on GMS', () => chatsOf(gms, escalation.id)[0]);
      const chatId = created.chatId;
      expect(created).toMatchObject({ serviceName: SERVICE, firstName: 'Ada', lastName: 'Lovelace', nickname: 'Ada Lovelace', emailAddress: 'ada@example.com' });
      expect(created.userData).toMatchObject({ Intent: 'balance', Authenticated: 'yes', escalationId: escalation.id, channel: 'genesyspureengage' });
      // The history follows Request Chat as the customer's first messages.
      await gms.waitForEvent(chatId, (e) => e.from.type === 'Client' && String(e.text).includes('Your balance is 12.34'), 10_000);
      const history = gms.getChat(chatId)!.transcript.filter((e) => e.type === 'Message' && e.from.type === 'Client').map((e) => e.text).join('\n');
      expect(history).toContain('Customer: I would like my balance please');
      expect(history).toContain('Virtual agent: Your balance is 12.34');
      await waitFor('queued at the bot', () => types().includes('queued'));

      // The user writes while the chat waits for an agent: it reaches GMS before any agent is there.
      await relay(escalation.id, { text: 'are you there?' });
      await gms.waitForEvent(chatId, (e) => e.from.type === 'Client' && e.text === 'are you there?', 10_000);

      gms.agentJoin(chatId, { nickname: 'Grace' });
      gms.agentStartTyping(chatId);
      gms.agentSendMessage(chatId, 'Hello Ada, I am Grace');
      gms.agentStopTyping(chatId);
      await waitFor('agent message at the bot', () => types().includes('agent_message'));
      const conversation = await t.request('GET', `/v1/conversations/${escalation.conversationId}`);
      expect(conversation.body.control).toBe('agent');

      await relay(escalation.id, { text: 'I lost my card' });
      await relay(escalation.id, {
        text: 'here is a photo of the receipt',
        attachments: [{ name: 'receipt.txt', mimeType: 'text/plain', contentBase64: Buffer.from('receipt #42').toString('base64') }],
      });
      const upload = await gms.waitForEvent(chatId, (e) => e.from.type === 'Client' && e.type === 'FileUploaded', 10_000);

      gms.agentPushUrl(chatId, 'https://bank.example.com/block-card');
      gms.agentSendFile(chatId, { name: 'form.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.4 block form') });
      gms.agentSendMessage(chatId, 'Please fill in this form');
      await waitFor('agent file at the bot', () => types().includes('attachment'));
      gms.agentClose(chatId);
      await waitFor('ended at the bot', () => types().includes('ended'));
      // Until the service has nothing left to send: whatever it stored is recorded delivered, so nothing can come twice.
      const settled = await deliveriesSettled(escalation.conversationId);

      const delivered = receiver.of(escalation.conversationId);
      expectExactlyOnceInOrder(delivered);
      expect(delivered).toHaveLength(settled.lastSeq);
      expect(types()).toEqual([
        'queued',
        'agent_joined',
        'agent_typing_started',
        'agent_message',
        'agent_typing_stopped',
        'push_url',
        'attachment',
        'agent_message',
        'agent_left',
        'ended',
      ]);
      const data = (type: string, nth = 0) => delivered.filter((d) => d.type === type)[nth].data;
      expect(data('agent_joined').agent).toEqual({ id: '2', displayName: 'Grace' });
      expect(data('agent_message')).toMatchObject({ text: 'Hello Ada, I am Grace' });
      expect(data('agent_message', 1)).toMatchObject({ text: 'Please fill in this form' });
      expect(data('push_url')).toMatchObject({ url: 'https://bank.example.com/block-card' });
      expect(data('ended')).toMatchObject({ by: 'agent', controlReturnedToBot, conversationClosed });

      const file = data('attachment').attachment;
      expect(file).toMatchObject({ name: 'form.pdf', mimeType: 'application/pdf', size: 19 });
      const download = await fetch(`${t.url}${file.url}`, { headers: { authorization: `Bearer ${process.env.BOOTSTRAP_API_KEY}` } });
      expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('%PDF-1.4 block form');

      // What the agent saw from the customer: the history, then the user's messages in order, then the file.
      const chat = gms.getChat(chatId)!;
      const fromUser = chat.transcript.filter((e) => e.from.type === 'Client' && (e.type === 'Message' || e.type === 'FileUploaded'));
      const afterHistory = fromUser.filter((e) => !String(e.text).includes('Virtual agent:'));
      expect(afterHistory.map((e) => (e.type === 'FileUploaded' ? `file:${e.userData?.['file-name']}` : e.text))).toEqual([
        'are you there?',
        'I lost my card',
        'here is a photo of the receipt',
        'file:receipt.txt',
      ]);
      expect(gms.fileContent(chatId, String(upload.text))!.content.toString()).toBe('receipt #42');
      expect(chat.state).toBe('ended');
      expect(chatsOf(gms, escalation.id)).toHaveLength(1);

      const detail = await t.request('GET', `/v1/escalations/${escalation.id}`);
      expect(detail.body).toMatchObject({ state: 'ended', control: 'bot' });
      expect(detail.body.relay.map((r: { status: string }) => r.status)).toEqual(['sent', 'sent', 'sent']);
      const after = await t.request('GET', `/v1/conversations/${escalation.conversationId}`);
      expect(after.body.control).toBe('bot');
      if (conversationClosed) expect(after.body.closedAt).not.toBeNull();
      else expect(after.body.closedAt).toBeNull();
    },
    20_000,
  );

  /** Polls the service's poller has finished, whatever their outcome (from /metrics). */
  const pollsDone = async (): Promise<number> => {
    const text = (await t.request('GET', '/metrics')).text;
    return text
      .split('\n')
      .filter((line) => line.startsWith('chat_gateway_polls_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  };

  it.each([
    { transferBack: true, controlReturnedToBot: true, conversationClosed: false },
    { transferBack: false, controlReturnedToBot: false, conversationClosed: true },
  ])(
    'ends as the agent closed it when the close races a relayed message, and the poller seeing it too adds nothing (transfer back $transferBack)',
    async ({ transferBack, controlReturnedToBot, conversationClosed }) => {
      const { domain, gatewayId } = await gmsGateway(gms, transferBack);
      const escalation = await escalate(domain, gatewayId, `conv-gms-race-${transferBack}`);
      const types = () => receiver.of(escalation.conversationId).map((d) => d.type);
      const chatId = (await waitFor('the chat on GMS', () => chatsOf(gms, escalation.id)[0])).chatId;
      gms.agentJoin(chatId, { nickname: 'Grace' });
      await waitFor('agent joined at the bot', () => types().includes('agent_joined'));

      // The poller's next Refresh of the chat is held unanswered (only the poller refreshes: nothing is being relayed),
      // so it has not seen the close when the user's message goes out. Later Refreshes are served.
      const heldBefore = gms.requestLog().faults.hold ?? 0;
      const hold = gms.injectFault({ kind: 'hold', operation: 'refresh', chatId, count: 1 });
      await waitFor('the poller held in a Refresh', () => (gms.requestLog().faults.hold ?? 0) > heldBefore);
      gms.agentClose(chatId);
      await relay(escalation.id, { text: 'thank you!' });

      // GMS refused the send (8201, the chat has ended); the service read how it ended from GMS, as the poller would.
      await waitFor('ended at the bot', () => types().includes('ended'));
      expect(types()).toEqual(['queued', 'agent_joined', 'agent_left', 'ended']);
      const delivered = receiver.of(escalation.conversationId);
      expect(delivered[2].data.agent).toEqual({ id: '2', displayName: 'Grace' });
      expect(delivered[3].data).toEqual({ by: 'agent', controlReturnedToBot, conversationClosed });
      const detail = (await t.request('GET', `/v1/escalations/${escalation.id}`)).body;
      expect(detail).toMatchObject({ state: 'ended', control: 'bot' });
      expect(detail.relay).toEqual([expect.objectContaining({ kind: 'message', status: 'failed', lastError: expect.stringMatching(/session had ended.*8201/) })]);
      expect(gms.getChat(chatId)!.transcript.some((e) => e.text === 'thank you!')).toBe(false);

      // The poller's held Refresh now answers with the close: it reads the same events under the same keys.
      const polled = await pollsDone();
      gms.removeFault(hold.id);
      await waitFor("the poller's held poll finished", async () => (await pollsDone()) > polled);
      const stored = (await t.request('GET', `/v1/conversations/${escalation.conversationId}/events`)).body;
      expect(stored.map((e: { type: string }) => e.type)).toEqual(['queued', 'agent_joined', 'agent_left', 'ended']);
      expectExactlyOnceInOrder(receiver.of(escalation.conversationId));
      const after = (await t.request('GET', `/v1/conversations/${escalation.conversationId}`)).body;
      expect(after.closedAt === null).toBe(!conversationClosed);
    },
    20_000,
  );

  it('keeps a waiting chat alive past several flex-disconnect periods, and retriggers the escalation when GMS drops it before an agent joins', async () => {
    const { domain, gatewayId } = await gmsGateway(flexGms, true);
    const escalation = await escalate(domain, gatewayId, 'conv-gms-flex');
    const first = await waitFor('the chat on GMS', () => chatsOf(flexGms, escalation.id)[0]);

    // Three flex-disconnect periods of GMS's clock with our poller running: GMS must not drop the customer. The clock
    // moves a period (less a millisecond) at a time, each time once our poller has refreshed the chat since the last move.
    const refreshes = () => flexGms.requestLog().counts.refresh ?? 0;
    const acceptedNow = () => flexGms.getChat(first.chatId)!.lastClientRequestAt === new Date(flexClock.now()).toISOString();
    for (let period = 0, before = refreshes(); period < 3; period++, before = refreshes()) {
      await waitFor('a Refresh of the chat since the clock last moved', () => refreshes() > before && acceptedNow());
      flexClock.advance(flexMs - 1);
    }
    const alive = flexGms.getChat(first.chatId)!;
    expect(alive).toMatchObject({ state: 'waiting', clientGone: false });
    expect(alive.endReason).toBeUndefined();
    expect(flexClock.now() - Date.parse(alive.lastClientRequestAt)).toBeLessThan(flexMs);

    // Now GMS stops accepting our Refresh calls (a faulted Refresh does not keep the client alive), so Chat Server
    // drops the customer after its flex-disconnect timeout, as it would after a network outage. Nothing is stopped
    // on our side: the poller keeps going and reads the drop once GMS answers again.
    const refused = flexGms.requestLog().faults['http-error'] ?? 0;
    const fault = flexGms.injectFault({ kind: 'http-error', httpStatus: 503, operation: 'refresh', chatId: first.chatId, count: 0 });
    await waitFor('a Refresh refused', () => (flexGms.requestLog().faults['http-error'] ?? 0) > refused);
    flexClock.advance(flexMs + flexGms.options.sweepIntervalMs);
    expect(flexGms.getChat(first.chatId)?.endReason).toBe('flex-disconnect');
    flexGms.removeFault(fault.id);

    const chats = await waitFor('a second chat for the same escalation', () => (chatsOf(flexGms, escalation.id).length === 2 ? chatsOf(flexGms, escalation.id) : null));
    expect(chats[1].chatId).not.toBe(first.chatId);
    expect(chats[1].userData).toMatchObject({ Intent: 'balance', escalationId: escalation.id });
    const detail = await waitFor('queued again', async () => {
      const d = await t.request('GET', `/v1/escalations/${escalation.id}`);
      return d.body.state === 'queued' && d.body.startAttempts === 2 ? d.body : null;
    });
    expect(detail.transitions.map((x: { to: string }) => x.to)).toEqual(['requested', 'starting', 'queued', 'requested', 'starting', 'queued']);
    // The bot is not told the escalation ended: it was retriggered.
    expect(receiver.of(escalation.conversationId).map((d) => d.type)).not.toContain('ended');

    // The new chat works: an agent joins it and the bot hears of it.
    flexGms.agentJoin(chats[1].chatId, { nickname: 'Linus' });
    await waitFor('agent joined at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'));
    expectExactlyOnceInOrder(receiver.of(escalation.conversationId));
    flexGms.agentClose(chats[1].chatId);
    await waitFor('ended at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'ended'));
  }, 25_000);

  it('delivered every event as the OpenAPI document describes it (DeliveredEvent, closed to undocumented fields)', () => {
    expect(new Set(receiver.deliveries.map((d) => d.type)).size).toBeGreaterThanOrEqual(5);
    expect(receiver.undocumented).toEqual([]);
  });
});
