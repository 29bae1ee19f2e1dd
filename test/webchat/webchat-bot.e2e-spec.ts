import { ConnectionStatus, DirectLine, Message, Activity } from 'botframework-directlinejs';
import { waitFor } from '../support/bot-receiver';
import { fakeSuite, SIGNING_SECRET } from '../escalations/fake-setup';
import { conversationOf } from '../channels/channel-setup';
import { directLineClient } from './directline-client';
import { DIRECT_LINE_SECRET, webchatGateway } from './webchat-setup';

/** A web chat user and the bot, end to end: DirectLineJS <-> the service <-> the bot's callback and API. */
describe('web chat conversations with the bot', () => {
  const suite = fakeSuite({});
  const { receiver } = suite;
  let domain: string;
  const clients: DirectLine[] = [];
  const subscriptions: Array<{ unsubscribe(): void }> = [];

  beforeAll(async () => {
    const { gatewayId } = await webchatGateway(suite.t, { callbackUrl: receiver.url, signingSecret: SIGNING_SECRET });
    domain = `${suite.t.url}/webchat/${gatewayId}/v3/directline`;
  });
  afterEach(() => {
    subscriptions.splice(0).forEach((s) => s.unsubscribe());
    clients.splice(0).forEach((c) => c.end());
  });

  async function connect(userId: string): Promise<{ client: DirectLine; seen: Activity[]; conversationId: string }> {
    const res = await fetch(`${domain}/tokens/generate`, { method: 'POST', headers: { authorization: `Bearer ${DIRECT_LINE_SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify({ user: { id: userId, name: 'Ana' } }) });
    const { token, conversationId } = (await res.json()) as { token: string; conversationId: string };
    const client = directLineClient({ domain, token });
    clients.push(client);
    const seen: Activity[] = [];
    subscriptions.push(client.activity$.subscribe((a) => seen.push(a), () => undefined));
    await waitFor('online', () => seenStatus(client) === ConnectionStatus.Online);
    return { client, seen, conversationId };
  }

  function seenStatus(client: DirectLine): ConnectionStatus {
    return (client.connectionStatus$ as unknown as { getValue(): ConnectionStatus }).getValue();
  }

  function post(client: DirectLine, activity: Partial<Message>): Promise<string> {
    return new Promise((resolve, reject) => client.postActivity({ type: 'message', from: { id: 'ignored' }, ...activity } as Message).subscribe(resolve, reject));
  }

  it("tells the bot the conversation started, hands it the user's message and shows the bot's answer and typing", async () => {
    const { client, seen, conversationId: dlConversation } = await connect('dl_bot-flow-user-0001');
    const id = await conversationOf(receiver, dlConversation);
    const started = receiver.of(id).find((d) => d.type === 'conversation_started')!;
    expect(started.data.user).toMatchObject({ id: 'dl_bot-flow-user-0001', name: 'Ana' });

    const posted = await post(client, { text: 'quiero una cita', channelData: { clientActivityID: 'cid-1' } });
    await waitFor('the echo', () => seen.find((a) => a.id === posted));
    const message = await waitFor('the user message at the bot', () => receiver.of(id).find((d) => d.type === 'user_message'));
    expect(message.data).toMatchObject({ text: 'quiero una cita', user: { id: 'dl_bot-flow-user-0001' } });

    const typing = await suite.t.request('POST', `/v1/conversations/${id}/typing`, { body: {} });
    expect(typing.status).toBeLessThan(300);
    await waitFor('the bot typing', () => seen.find((a) => a.type === 'typing' && a.from.role === 'bot'));
    const reply = await suite.t.request('POST', `/v1/conversations/${id}/messages`, {
      body: { text: '¿Qué día?', quickReplies: [{ title: 'Martes' }, { title: 'Miércoles', value: 'day:3' }] },
      headers: { 'idempotency-key': 'answer-1' },
    });
    expect(reply.status).toBe(202);
    const answer = (await waitFor('the answer in the widget', () => seen.find((a) => a.type === 'message' && (a as Message).text === '¿Qué día?'))) as Message;
    expect(answer.from).toEqual({ id: 'helpbot', name: 'Help Bot', role: 'bot' });
    expect(answer.suggestedActions?.actions.map((a) => a.title)).toEqual(['Martes', 'Miércoles']);
    const status = await waitFor('the message sent', async () => {
      const s = await suite.t.request('GET', `/v1/conversations/${id}/messages/${reply.body.id}`);
      return s.body.status === 'sent' ? s.body : null;
    });
    expect(status.platformMessageId).toBe(answer.id);
  });

  it('gives the bot a URL of an uploaded file that it can download', async () => {
    const { conversationId: dlConversation } = await connect('dl_bot-flow-user-0002');
    const id = await conversationOf(receiver, dlConversation);
    const token = (clients[0] as unknown as { token: string }).token;
    const form = new FormData();
    form.append('activity', new Blob([JSON.stringify({ type: 'message', text: 'mi factura' })], { type: 'application/vnd.microsoft.activity' }));
    form.append('file', new Blob([Buffer.from('%PDF-1.7 invoice')], { type: 'application/pdf' }), 'factura.pdf');
    const upload = await fetch(`${domain}/conversations/${dlConversation}/upload?userId=dl_bot-flow-user-0002`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(upload.status).toBe(200);
    const message = await waitFor('the file at the bot', () => receiver.of(id).find((d) => d.type === 'user_message' && d.data.attachments));
    expect(message.data.text).toBe('mi factura');
    const [file] = message.data.attachments;
    expect(file).toMatchObject({ contentType: 'application/pdf', name: 'factura.pdf', url: expect.stringContaining('/files/'), fileId: expect.any(String) });
    const download = await fetch(file.url);
    expect(download.headers.get('content-disposition')).toContain('factura.pdf');
    expect(await download.text()).toBe('%PDF-1.7 invoice');
  });
});
