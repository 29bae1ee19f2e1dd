import { GmsSimulator } from './gms-simulator';
import { control, postForm, TestGmsClient } from './gms-simulator.spec-helpers';
import { GmsTranscriptEvent } from './gms-protocol.types';

describe('GMS simulator agent control API', () => {
  let gms: GmsSimulator;
  let baseUrl: string;
  let client: TestGmsClient;

  beforeAll(async () => {
    gms = new GmsSimulator();
    baseUrl = await gms.start();
  });
  afterAll(() => gms.stop());
  beforeEach(async () => {
    gms.reset();
    client = new TestGmsClient(gms.chatServiceUrl('customer-support'));
    await client.requestChat({ firstName: 'Ada', lastName: 'Lovelace', emailAddress: 'ada@example.com', subject: 'Engines', 'userData[queue]': 'sales', 'userData[orderId]': '7' });
  });

  const events = async (): Promise<GmsTranscriptEvent[]> => (await client.refresh()).body.messages!;
  const agent = (path: string, body?: unknown) => control(baseUrl, 'POST', `/chats/${client.chatId}/agent/${path}`, body ?? {});

  it('lists chats filtered by state and queue, and shows one chat in full', async () => {
    const other = new TestGmsClient(gms.chatServiceUrl('customer-support'));
    await other.requestChat({ nickname: 'Bob' });
    await agent('join', { nickname: 'Ann' });

    expect((await control(baseUrl, 'GET', '/chats?state=waiting')).body.map((c: any) => c.nickname)).toEqual(['Bob']);
    expect((await control(baseUrl, 'GET', '/chats?queue=sales')).body.map((c: any) => c.chatId)).toEqual([client.chatId]);
    expect((await control(baseUrl, 'GET', '/chats?state=bogus')).status).toBe(400);

    const { body } = await control(baseUrl, 'GET', `/chats/${client.chatId}`);
    expect(body).toMatchObject({
      chatId: client.chatId,
      queue: 'sales',
      state: 'active',
      nickname: 'Ada Lovelace',
      firstName: 'Ada',
      lastName: 'Lovelace',
      emailAddress: 'ada@example.com',
      subject: 'Engines',
      userData: { queue: 'sales', orderId: '7' },
      agents: [expect.objectContaining({ nickname: 'Ann', participantId: 2 })],
      transcript: [expect.objectContaining({ index: 1 }), expect.objectContaining({ index: 2, type: 'ParticipantJoined' })],
    });
    expect((await control(baseUrl, 'GET', '/chats/0000000000000000')).status).toBe(404);
  });

  it('agent join, typing, message and URL push reach the client in order', async () => {
    expect((await agent('join', { nickname: 'Ann' })).body).toMatchObject({ nickname: 'Ann', participantId: 2, type: 'Agent' });
    await agent('typing/start', { text: 'Hel' });
    await agent('typing/stop');
    expect((await agent('message', { text: 'Hello Ada', messageType: 'greeting' })).body).toEqual({ index: 5 });
    await agent('push-url', { url: 'https://example.com/help' });
    const ann = { nickname: 'Ann', participantId: 2, type: 'Agent' };
    expect((await events()).map(({ from, type, text, messageType }) => ({ from, type, text, messageType }))).toEqual([
      { from: ann, type: 'ParticipantJoined', text: undefined, messageType: undefined },
      { from: ann, type: 'TypingStarted', text: 'Hel', messageType: undefined },
      { from: ann, type: 'TypingStopped', text: undefined, messageType: undefined },
      { from: ann, type: 'Message', text: 'Hello Ada', messageType: 'greeting' },
      { from: ann, type: 'PushUrl', text: 'https://example.com/help', messageType: undefined },
    ]);
  });

  it('an agent file arrives as FileUploaded and the client downloads its bytes', async () => {
    await agent('join', { nickname: 'Ann' });
    const sent = await agent('file', { name: 'map.png', mimeType: 'image/png', contentBase64: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'), description: 'the map' });
    expect(sent.status).toBe(200);
    const event = (await events()).find((e) => e.type === 'FileUploaded')!;
    expect(event.userData).toMatchObject({ 'file-id': sent.body.fileId, 'file-name': 'map.png', 'file-size': '4', 'file-description': 'the map' });
    const download = await fetch(`${client.serviceUrl}/${client.chatId}/file/${event.text}/download`, { method: 'POST', body: new URLSearchParams({ secureKey: client.secureKey }) });
    expect(download.headers.get('content-type')).toBe('image/png');
    expect([...Buffer.from(await download.arrayBuffer())]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it('a transfer: the agent leaves, a Notice explains, the chat waits in the new queue and the next agent is participant 3', async () => {
    await agent('join', { nickname: 'Ann' });
    await events();
    expect((await agent('transfer', { queue: 'billing' })).status).toBe(204);
    expect(gms.getChat(client.chatId)).toMatchObject({ state: 'waiting', queue: 'billing', agents: [] });
    const accepted = await control(baseUrl, 'POST', '/queues/billing/accept', { nickname: 'Ben' });
    expect(accepted.body).toMatchObject({ chatId: client.chatId, agent: { nickname: 'Ben', participantId: 3 } });
    expect((await events()).map((e) => [e.type, e.from.type, e.from.nickname])).toEqual([
      ['ParticipantLeft', 'Agent', 'Ann'],
      ['Notice', 'External', 'system'],
      ['ParticipantJoined', 'Agent', 'Ben'],
    ]);
    expect((await control(baseUrl, 'POST', '/queues/billing/accept', {})).status).toBe(404);
  });

  it('an agent leaving puts the chat back to waiting without ending it', async () => {
    await agent('join', { nickname: 'Ann' });
    await events();
    await agent('leave');
    const { body } = await client.refresh();
    expect(body.chatEnded).toBe(false);
    expect(body.messages!.map((e) => [e.type, e.from.type])).toEqual([['ParticipantLeft', 'Agent']]);
    expect(gms.getChat(client.chatId)!.state).toBe('waiting');
  });

  it('an agent closing ends the chat: ParticipantLeft and chatEnded true', async () => {
    await agent('join', { nickname: 'Ann' });
    await events();
    await agent('close');
    const { body } = await client.refresh();
    expect(body).toMatchObject({ statusCode: 0, chatEnded: true });
    expect(body.messages!.map((e) => [e.type, e.from.nickname])).toEqual([['ParticipantLeft', 'Ann']]);
    expect((await agent('message', { text: 'too late' })).status).toBe(409);
  });

  it('system messages come as an External Message or a Notice', async () => {
    await control(baseUrl, 'POST', `/chats/${client.chatId}/system-message`, { text: 'Expected wait: 2 minutes', type: 'External' });
    await control(baseUrl, 'POST', `/chats/${client.chatId}/system-message`, { text: 'Please hold', type: 'Notice', nickname: 'Router' });
    expect((await events()).map((e) => [e.type, e.from.type, e.from.nickname, e.text])).toEqual([
      ['Message', 'External', 'system', 'Expected wait: 2 minutes'],
      ['Notice', 'External', 'Router', 'Please hold'],
    ]);
  });

  it('refuses what cannot be done: unknown chat 404, no agent 409, missing fields 400, bad JSON 400', async () => {
    expect((await control(baseUrl, 'POST', '/chats/0000000000000000/agent/join', {})).status).toBe(404);
    expect((await agent('message', { text: 'nobody here' })).status).toBe(409);
    await agent('join');
    expect((await agent('message', {})).status).toBe(400);
    const badJson = await fetch(`${baseUrl}/sim/chats/${client.chatId}/agent/message`, { method: 'POST', body: '{not json' });
    expect(badJson.status).toBe(400);
  });

  it('lists queues with waiting and active counts', async () => {
    await postForm(gms.chatServiceUrl('customer-support'), { nickname: 'Bob', 'userData[queue]': 'sales' });
    await agent('join');
    expect((await control(baseUrl, 'GET', '/queues')).body).toEqual([{ queue: 'sales', waiting: 1, active: 1 }]);
  });

  it('the same operations work in process, and waitForChat finds the chat a client requests', async () => {
    const waiting = gms.waitForChat({ queue: 'vip' }, 2000);
    const vip = new TestGmsClient(gms.chatServiceUrl());
    await vip.requestChat({ nickname: 'Vera', 'userData[queue]': 'vip' });
    const chat = await waiting;
    expect(chat.chatId).toBe(vip.chatId);
    gms.agentJoin(chat.chatId, { nickname: 'Ann' });
    gms.agentSendMessage(chat.chatId, 'Hi Vera');
    const reply = gms.waitForEvent(chat.chatId, (e) => e.type === 'Message' && e.from.type === 'Client', 2000);
    await vip.call('send', { message: 'Hi Ann' });
    expect((await reply).text).toBe('Hi Ann');
    expect((await vip.refresh()).body.chatEnded).toBe(false);
  });
});
