import { EightByEightTestReceiver } from './eight-by-eight-test.receiver';
import { EightByEightHarness, EXAMPLE_REQUESTS, startHarness } from './eight-by-eight-test.fixtures';

type Event = Record<string, any>;

describe('8x8 simulator agent side and event sequences', () => {
  let h: EightByEightHarness;
  const control = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${h.baseUrl}/sim${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  /** Events of the conversation delivered since the last clear, once everything is delivered. */
  const delivered = async (conversationId: string): Promise<Event[]> => {
    await h.simulator.whenDeliveriesSettled();
    return h.receiver.events(conversationId) as Event[];
  };
  /** Waits until earlier events are delivered, then forgets them. */
  const fresh = async () => {
    await h.simulator.whenDeliveriesSettled();
    h.receiver.clear();
  };
  const summary = (events: Event[]) =>
    events.map((event) => [event.eventType, event.data?.state ?? event.data?.change ?? event.data?.name ?? event.data?.queueId].filter(Boolean).join(':'));

  beforeAll(async () => {
    h = await startHarness({ validateRequests: false, queues: [{ id: '123', name: 'Customer Support' }] });
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.simulator.reset();
    h.receiver.clear();
  });

  it('announces a new conversation: CONVERSATION_UPDATE created, then active, then QUEUED', async () => {
    const { conversationId } = await h.startConversation();
    const events = h.receiver.events(conversationId) as Event[];
    expect(summary(events)).toEqual(['CONVERSATION_UPDATE:created', 'CONVERSATION_UPDATE:active', 'QUEUED:123']);
    expect(events[0]).toEqual({
      eventType: 'CONVERSATION_UPDATE',
      conversationId,
      timestamp: expect.any(Number),
      data: { state: 'created', assignment: { type: 'queue', id: '123' }, user: expect.objectContaining({ name: 'James Jones' }), channel: 'ChatAPI' },
    });
    expect(events[0].data.user.additionalProperties).toHaveLength(3);
    expect(events[2].data).toEqual({ queueId: '123', queueName: 'Customer Support' });
  });

  it('lists the waiting conversation under its queue and shows its user, history and state', async () => {
    const { conversationId } = await h.startConversation();
    const lists = (await control('GET', '/conversations')).body;
    expect(lists.waiting['123'].map((entry: Event) => entry.id)).toEqual([conversationId]);
    expect(lists.active).toEqual([]);
    const view = (await control('GET', `/conversations/${conversationId}`)).body;
    expect(view).toMatchObject({ id: conversationId, state: 'active', phase: 'queued', queue: { id: '123', name: 'Customer Support' }, assignment: { type: 'queue', id: '123' } });
    expect(view.user.additionalProperties).toEqual(EXAMPLE_REQUESTS.createConversation('x').user.additionalProperties);
    expect(view.history.map((message: Event) => message.authorType)).toEqual(['user', 'bot', 'user', 'bot']);
    expect(view.messages).toEqual([]);
  });

  it('accepts: MEMBERS_CHANGED agent joined, then CONVERSATION_UPDATE with the agent assignment', async () => {
    const { conversationId } = await h.startConversation();
    await fresh();
    const accepted = await control('POST', `/conversations/${conversationId}/accept`, { agentId: 'agent-7', agentName: 'Ann Agent' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.agent).toEqual({ id: 'agent-7', name: 'Ann Agent' });
    const events = await delivered(conversationId);
    expect(events.map((event) => event.data)).toEqual([
      { memberType: 'agent', change: 'joined', id: 'agent-7' },
      { state: 'active', assignment: { type: 'agent', id: 'agent-7' }, user: expect.any(Object), channel: 'ChatAPI' },
    ]);
    expect((await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}`)).json().assignment).toEqual({ type: 'agent', id: 'agent-7' });
    expect((await control('POST', `/conversations/${conversationId}/accept`, {})).status).toBe(409);
  });

  it('sends agent typing as ACTIVITY with the agent, and an empty users list when it stops', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId, { agentId: 'agent-7' });
    await fresh();
    expect((await control('POST', `/conversations/${conversationId}/typing`, { typing: true })).status).toBe(204);
    expect((await control('POST', `/conversations/${conversationId}/typing`, { typing: false })).status).toBe(204);
    const events = await delivered(conversationId);
    expect(events.map((event) => [event.eventType, event.data])).toEqual([
      ['ACTIVITY', { name: 'typing', value: { users: [{ type: 'agent', id: 'agent-7' }] } }],
      ['ACTIVITY', { name: 'typing', value: { users: [] } }],
    ]);
  });

  it('delivers agent messages and echoes the integration messages with isEcho', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId, { agentId: 'agent-7' });
    await fresh();
    const quickReplies = EXAMPLE_REQUESTS.messageWithCards.cards[0];
    expect((await control('POST', `/conversations/${conversationId}/messages`, { text: 'How can I help?', cards: [quickReplies] })).status).toBe(201);
    await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: { authorType: 'user', text: 'My card is blocked' } });
    await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: { authorType: 'bot', text: '(bot note)' } });
    const events = await delivered(conversationId);
    expect(events.map((event) => event.data)).toEqual([
      { isEcho: false, sender: { id: 'agent-7', type: 'agent' }, text: 'How can I help?', attachments: [], cards: [quickReplies] },
      { isEcho: true, sender: { id: 'user', type: 'user' }, text: 'My card is blocked', attachments: [], cards: [] },
      { isEcho: true, sender: { id: 'bot', type: 'bot' }, text: '(bot note)', attachments: [], cards: [] },
    ]);
    const view = h.simulator.getConversation(conversationId) as { messages: Event[] };
    expect(view.messages.map((message) => message.authorType)).toEqual(['agent', 'user', 'bot']);
  });

  it('sends an agent file whose pre-signed URL the simulator serves without an API key', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId);
    await fresh();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const sent = await control('POST', `/conversations/${conversationId}/files`, { fileName: 'screenshot.png', contentBase64: png.toString('base64'), mimeType: 'image/png', text: 'See this' });
    expect(sent.status).toBe(201);
    const [message] = await delivered(conversationId);
    expect(message.data.text).toBe('See this');
    expect(message.data.attachments).toEqual([{ id: sent.body.attachmentId, type: 'image', preSignedUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/sim\/files\//), fileName: 'screenshot.png' }]);
    const download = await fetch(message.data.attachments[0].preSignedUrl);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
    const listed = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/attachments`)).json()._embedded.attachments;
    expect(listed.map((attachment: Event) => attachment.filename)).toEqual(['screenshot.png']);
    expect((await fetch(`${h.baseUrl}/sim/files/forged/screenshot.png`)).status).toBe(404);
  });

  it('transfers: TRANSFER, agent left, queue assignment, QUEUED in the new queue, then another agent joins', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId, { agentId: 'agent-7' });
    await fresh();
    const transferred = await control('POST', `/conversations/${conversationId}/transfer`, { queueId: '200', queueName: 'Billing' });
    expect(transferred.body.phase).toBe('queued');
    h.simulator.acceptConversation(conversationId, { agentId: 'agent-9' });
    const events = await delivered(conversationId);
    expect(summary(events)).toEqual(['TRANSFER', 'MEMBERS_CHANGED:left', 'CONVERSATION_UPDATE:active', 'QUEUED:200', 'MEMBERS_CHANGED:joined', 'CONVERSATION_UPDATE:active']);
    expect(events[0]).toEqual({ eventType: 'TRANSFER', conversationId, timestamp: expect.any(Number) });
    expect(events[1].data).toEqual({ memberType: 'agent', change: 'left', id: 'agent-7' });
    expect(events[2].data.assignment).toEqual({ type: 'queue', id: '200' });
    expect(events[3].data).toEqual({ queueId: '200', queueName: 'Billing' });
    expect(events[4].data.id).toBe('agent-9');
  });

  it('ends when the agent leaves: MEMBERS_CHANGED left, then CONVERSATION_UPDATE idle', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId, { agentId: 'agent-7' });
    await fresh();
    expect((await control('POST', `/conversations/${conversationId}/leave`)).body).toMatchObject({ state: 'idle', phase: 'ended', endedBy: 'agent' });
    const events = await delivered(conversationId);
    expect(summary(events)).toEqual(['MEMBERS_CHANGED:left', 'CONVERSATION_UPDATE:idle']);
    expect(h.simulator.listConversations().ended.map((entry) => entry.id)).toEqual([conversationId]);
    const [interaction] = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/interactions`)).json()._embedded.interactions;
    expect(interaction.endTime).toEqual(expect.any(String));
    expect((await control('POST', `/conversations/${conversationId}/leave`)).status).toBe(409);
  });

  it('ends when the user leaves: MEMBERS_CHANGED user left, then CONVERSATION_UPDATE idle', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId);
    await fresh();
    await h.request('PATCH', `/chat-gateway/v1/conversations/${conversationId}/participants/user`, { body: { removed: true } });
    const events = await delivered(conversationId);
    expect(events.map((event) => event.data.memberType ?? event.data.state)).toEqual(['user', 'idle']);
    expect(events[0].data).toEqual({ memberType: 'user', change: 'left', id: 'user' });
    expect(h.simulator.getConversation(conversationId)).toMatchObject({ endedBy: 'user', phase: 'ended' });
  });

  it('reopens an idle conversation in its last queue when the user writes again', async () => {
    const { conversationId } = await h.startConversation();
    h.simulator.acceptConversation(conversationId);
    h.simulator.leaveConversation(conversationId);
    await fresh();
    await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: { authorType: 'user', text: 'One more thing' } });
    const events = await delivered(conversationId);
    expect(summary(events)).toEqual(['CONVERSATION_UPDATE:active', 'QUEUED:123', 'MESSAGE']);
    expect((await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/interactions`)).json().page.totalElements).toBe(2);
  });

  it('hands the conversation back to the post-agent-assignment webhook when the agent leaves', async () => {
    const handBack = new EightByEightTestReceiver();
    const handBackUrl = await handBack.start();
    try {
      const { conversationId } = await h.startConversation();
      const webhook = (await h.request('POST', '/chat-gateway/v1/webhooks', { body: { ...EXAMPLE_REQUESTS.createWebhook(handBackUrl), name: 'survey bot' } })).json();
      await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/post-agent-assignment`, { body: EXAMPLE_REQUESTS.postAgentAssignment(webhook.id) });
      h.simulator.acceptConversation(conversationId, { agentId: 'agent-7' });
      await fresh();
      h.simulator.leaveConversation(conversationId);
      await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: { authorType: 'bot', text: 'Rate us 1-5' } });
      await h.simulator.whenDeliveriesSettled();
      expect(summary(h.receiver.events(conversationId))).toEqual(['MEMBERS_CHANGED:left']);
      expect((handBack.events(conversationId) as Event[]).map((event) => [event.eventType, event.data.assignment ?? event.data.text])).toEqual([
        ['CONVERSATION_UPDATE', { type: 'webhook', id: webhook.id }],
        ['MESSAGE', 'Rate us 1-5'],
      ]);
      expect(h.simulator.getConversation(conversationId)).toMatchObject({ phase: 'with-bot', state: 'active', handedBack: { webhookId: webhook.id } });
    } finally {
      await handBack.stop();
    }
  });

  it('turns adaptive-card callbacks into ACTIVITY events and flags the card', async () => {
    const { conversationId } = await h.startConversation();
    await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: EXAMPLE_REQUESTS.messageWithCards });
    const [message] = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/messages?size=1`)).json()._embedded.messages;
    const cardId = message.cards[1].id;
    await fresh();
    const path = `/api/v1/tenant/tenant01/conversations/${conversationId}/cards/${cardId}/action-submit`;
    expect((await h.request('PUT', path, { body: { name: '8x8' } })).status).toBe(204);
    expect((await h.request('PUT', path.replace('tenant01', 'tenant02'), { body: { name: '8x8' } })).status).toBe(403);
    expect(await delivered(conversationId)).toEqual([
      { eventType: 'ACTIVITY', conversationId, timestamp: expect.any(Number), data: { name: 'adaptiveCard/action', value: { type: 'Action.Submit', data: { name: '8x8' } } } },
    ]);
    const cards = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/messages/${message.id}/cards`)).json()._embedded.cards;
    expect(cards[1].actionSubmitted).toBe(true);
  });

  it('sends any ACTIVITY through the control API, such as a quick-reply action', async () => {
    const { conversationId } = await h.startConversation();
    await fresh();
    const value = { type: 'postback', data: { title: 'option one', payload: '1' } };
    expect((await control('POST', `/conversations/${conversationId}/activity`, { name: 'quickReply/action', value })).status).toBe(204);
    expect((await delivered(conversationId)).map((event) => event.data)).toEqual([{ name: 'quickReply/action', value }]);
  });

  it('refuses agent actions that the conversation state does not allow', async () => {
    const { conversationId } = await h.startConversation();
    expect((await control('POST', `/conversations/${conversationId}/typing`, { typing: true })).status).toBe(409);
    expect((await control('POST', `/conversations/${conversationId}/messages`, { text: 'early' })).status).toBe(409);
    expect((await control('POST', '/conversations/nope/accept', {})).status).toBe(404);
    expect((await control('POST', `/conversations/${conversationId}/typing`, {})).status).toBe(400);
  });

  it('lets a contract test wait for the conversation a gateway queued', async () => {
    const waiting = h.simulator.waitForConversation();
    const { conversationId } = await h.startConversation();
    expect(await waiting).toMatchObject({ id: conversationId, phase: 'queued', queueId: '123', userName: 'James Jones' });
    await expect(h.simulator.waitForConversation((summary) => summary.phase === 'ended', 30)).rejects.toThrow('No matching conversation');
  });

  it('lets an automatic agent accept queued conversations, for demos', async () => {
    const demo = await startHarness({ validateRequests: false, autoAccept: { agentId: 'demo-agent', agentName: 'Demo', afterMs: 5 } });
    try {
      const { conversationId } = await demo.startConversation();
      await demo.simulator.whenDeliveriesSettled();
      expect(summary(demo.receiver.events(conversationId)).slice(-2)).toEqual(['MEMBERS_CHANGED:joined', 'CONVERSATION_UPDATE:active']);
    } finally {
      await demo.stop();
    }
  });
});
