import { Activity, ConnectionStatus, DirectLine, Message } from 'botframework-directlinejs';
import { waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { WebchatHostedChannel } from '../../src/webchat/webchat-hosted.channel';
import { directLineClient } from './directline-client';
import { DIRECT_LINE_SECRET, webchatGateway } from './webchat-setup';

/** Microsoft's DirectLineJS, unmodified, against the service: the held-out client of issue 20. */
describe('DirectLineJS against the webchat gateway', () => {
  let t: TestApp;
  let domain: string;
  const clients: DirectLine[] = [];
  const subscriptions: Array<{ unsubscribe(): void }> = [];

  beforeAll(async () => {
    await resetState();
    t = await startTestApp();
    const { gatewayId } = await webchatGateway(t);
    domain = `${t.url}/webchat/${gatewayId}/v3/directline`;
  });
  // Unsubscribing tears down DirectLineJS's socket, polling and ping timers; end() stops its token refresh.
  afterEach(() => {
    subscriptions.splice(0).forEach((s) => s.unsubscribe());
    clients.splice(0).forEach((c) => c.end());
  });
  afterAll(async () => t.close());

  async function tokenFor(userId: string): Promise<{ token: string; conversationId: string }> {
    const res = await fetch(`${domain}/tokens/generate`, { method: 'POST', headers: { authorization: `Bearer ${DIRECT_LINE_SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify({ user: { id: userId } }) });
    return (await res.json()) as { token: string; conversationId: string };
  }

  function collect(client: DirectLine): Activity[] {
    const seen: Activity[] = [];
    // end() ends the activity stream with an error; a subscriber without an error handler would throw it.
    subscriptions.push(client.activity$.subscribe((a) => seen.push(a), () => undefined));
    return seen;
  }

  it('connects over WebSocket, posts a message, gets its echo and the bot side\'s answer', async () => {
    const { token, conversationId } = await tokenFor('dl_directlinejs-user-1');
    const client = directLineClient({ domain, token });
    clients.push(client);
    const seen = collect(client);
    const statuses: ConnectionStatus[] = [];
    client.connectionStatus$.subscribe((s) => statuses.push(s));
    const id = await new Promise<string>((resolve, reject) =>
      client.postActivity({ type: 'message', from: { id: 'chosen', name: 'Ana' }, text: 'hola', channelData: { clientActivityID: 'c-1' } } as Message).subscribe(resolve, reject),
    );
    expect(id).toBe(`${conversationId}|0000001`);
    expect(statuses).toContain(ConnectionStatus.Online);
    await waitFor('the echo', () => seen.find((a) => a.id === id));
    await t.app.get(WebchatHostedChannel).post(conversationId, { type: 'message', author: 'bot', text: '¿en qué te ayudo?', quickReplies: [{ title: 'Citas' }] }, { messageId: 'dljs-1' });
    const answer = await waitFor('the answer', () => seen.find((a) => a.type === 'message' && (a as Message).text === '¿en qué te ayudo?')) as Message;
    expect(answer.from).toEqual({ id: 'helpbot', name: 'Help Bot', role: 'bot' });
    expect(answer.suggestedActions?.actions).toEqual([{ type: 'imBack', title: 'Citas', value: 'Citas' }]);
  });

  it('polls with the watermark when WebSockets are off', async () => {
    const { token, conversationId } = await tokenFor('dl_directlinejs-user-2');
    const client = directLineClient({ domain, token, webSocket: false, pollingInterval: 200 });
    clients.push(client);
    const seen = collect(client);
    await waitFor('online', async () => (await new Promise<ConnectionStatus>((r) => client.connectionStatus$.take(1).subscribe(r))) === ConnectionStatus.Online);
    for (const n of [1, 2, 3]) await t.app.get(WebchatHostedChannel).post(conversationId, { type: 'message', author: 'bot', text: `poll ${n}` }, { messageId: `poll-${n}` });
    await waitFor('three messages', () => seen.filter((a) => (a as Message).text?.startsWith('poll')).length === 3);
    expect(seen.filter((a) => (a as Message).text?.startsWith('poll')).map((a) => (a as Message).text)).toEqual(['poll 1', 'poll 2', 'poll 3']);
  });

  it('resumes a conversation from its watermark: a new client misses nothing sent while none was connected', async () => {
    const { token, conversationId } = await tokenFor('dl_directlinejs-user-3');
    const first = directLineClient({ domain, token });
    clients.push(first);
    const seenFirst = collect(first);
    const hosted = t.app.get(WebchatHostedChannel);
    await hosted.post(conversationId, { type: 'message', author: 'bot', text: 'before' }, { messageId: 'r-1' });
    await waitFor('before', () => seenFirst.find((a) => (a as Message).text === 'before'));
    const watermark = String(seenFirst.length);
    first.end();
    await hosted.post(conversationId, { type: 'message', author: 'bot', text: 'while away 1' }, { messageId: 'r-2' });
    await hosted.post(conversationId, { type: 'message', author: 'agent', authorName: 'Marta', text: 'while away 2' }, { messageId: 'r-3' });
    const second = directLineClient({ domain, token, conversationId, watermark });
    clients.push(second);
    const seenSecond = collect(second);
    await waitFor('both missed messages', () => seenSecond.filter((a) => (a as Message).text?.startsWith('while away')).length === 2);
    expect(seenSecond.map((a) => (a as Message).text)).toEqual(['while away 1', 'while away 2']);
  });

  it('reports an expired token as ExpiredToken', async () => {
    const client = directLineClient({ domain, token: 'cgwc1.e30.AAAA' });
    clients.push(client);
    const statuses: ConnectionStatus[] = [];
    client.connectionStatus$.subscribe((s) => statuses.push(s));
    subscriptions.push(client.activity$.subscribe({ error: () => undefined }));
    await waitFor('a failed connection', () => statuses.includes(ConnectionStatus.FailedToConnect) || statuses.includes(ConnectionStatus.ExpiredToken));
  });
});
