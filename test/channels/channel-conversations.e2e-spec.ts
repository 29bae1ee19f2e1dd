import { FakeChannelGateway } from '@app/gateways/fake/fake-channel.gateway';
import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { GatewayRegistry } from '../../src/gateways/gateway-registry';
import { waitFor } from '../support/bot-receiver';
import { TestApp } from '../support/test-app';
import { fakeSuite } from '../escalations/fake-setup';
import { conversationOf, fakeChannel, userSays } from './channel-setup';

describe('channel conversations through the fake channel', () => {
  const suite = fakeSuite({});
  const { receiver } = suite;
  const channel = new FakeChannelPlatform();
  let t: TestApp;
  beforeAll(async () => {
    t = suite.t;
    await channel.start();
  });
  afterAll(() => channel.stop());

  const types = (conversationId: string) => receiver.of(conversationId).map((d) => d.type);

  it('creates the conversation on the first activity, stores a repeated one once, and delivers in order', async () => {
    const { gatewayId } = await fakeChannel(t, channel, receiver);
    await userSays(t, channel, gatewayId, [{ id: 'a1', conversationId: 'pc-1', user: { id: 'u1', name: 'Ada' }, text: 'hello' }]);
    const id = await conversationOf(receiver, 'pc-1');
    const repeated = await userSays(t, channel, gatewayId, [{ id: 'a1', conversationId: 'pc-1', user: { id: 'u1', name: 'Ada' }, text: 'hello' }]);
    expect(repeated.duplicate).toBe(true);
    await userSays(t, channel, gatewayId, [
      { id: 'a2', conversationId: 'pc-1', type: 'typing', user: { id: 'u1' } },
      { id: 'a3', conversationId: 'pc-1', user: { id: 'u1' }, text: 'are you there?', attachments: [{ contentType: 'image/png', name: 'a.png', url: 'https://files.example/a.png' }] },
      { id: 'a4', conversationId: 'pc-1', user: { id: 'u1' }, value: { choice: 'yes' } },
    ]);
    await waitFor('five events at the bot', () => receiver.of(id).length >= 5);
    expect(types(id)).toEqual(['conversation_started', 'user_message', 'user_typing', 'user_message', 'user_message']);
    const events = receiver.of(id);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events[0].data).toMatchObject({ gatewayId, channel: 'fake-channel', platformConversationId: 'pc-1', user: { id: 'u1', name: 'Ada' } });
    expect(events[1].data).toMatchObject({ text: 'hello', user: { id: 'u1' } });
    expect(events[3].data.attachments).toEqual([{ contentType: 'image/png', name: 'a.png', url: 'https://files.example/a.png' }]);
    expect(events[4].data.value).toEqual({ choice: 'yes' });
    const conversation = await t.request('GET', `/v1/conversations/${id}`);
    expect(conversation.body).toMatchObject({ control: 'bot', channel: 'fake-channel', externalId: id });
    expect(receiver.undocumented).toEqual([]);
  });

  it('sends the bot answer once per Idempotency-Key and reports sent, delivered and read', async () => {
    const { gatewayId } = await fakeChannel(t, channel, receiver);
    await userSays(t, channel, gatewayId, [{ id: 'b1', conversationId: 'pc-2', text: 'hi' }]);
    const id = await conversationOf(receiver, 'pc-2');
    const body = { text: 'Hello! How can I help?' };
    const first = await t.request('POST', `/v1/conversations/${id}/messages`, { body, headers: { 'idempotency-key': 'reply-1' } });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'accepted', author: 'bot', seq: 1 });
    const again = await t.request('POST', `/v1/conversations/${id}/messages`, { body, headers: { 'idempotency-key': 'reply-1' } });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const other = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'something else' }, headers: { 'idempotency-key': 'reply-1' } });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_conflict');

    const sent = await waitFor('the status sent', async () => {
      const s = await t.request('GET', `/v1/conversations/${id}/messages/${first.body.id}`);
      return s.body.status === 'sent' ? s.body : null;
    });
    expect(channel.delivered('pc-2').map((s) => s.activity.text)).toEqual(['Hello! How can I help?']);
    expect(channel.delivered('pc-2')[0].messageId).toBe(first.body.id);
    await userSays(t, channel, gatewayId, [{ id: 'r1', conversationId: 'pc-2', type: 'receipt', receipt: { platformMessageId: sent.platformMessageId, status: 'delivered' } }]);
    await userSays(t, channel, gatewayId, [{ id: 'r2', conversationId: 'pc-2', type: 'receipt', receipt: { platformMessageId: sent.platformMessageId, status: 'read' } }]);
    // A late delivery receipt does not move a read message back.
    await userSays(t, channel, gatewayId, [{ id: 'r3', conversationId: 'pc-2', type: 'receipt', receipt: { platformMessageId: sent.platformMessageId, status: 'delivered' } }]);
    await waitFor('status events at the bot', () => receiver.of(id).filter((d) => d.type === 'message_status').length >= 3);
    expect(receiver.of(id).filter((d) => d.type === 'message_status').map((d) => d.data.status)).toEqual(['sent', 'delivered', 'read']);
    const final = await t.request('GET', `/v1/conversations/${id}/messages/${first.body.id}`);
    expect(final.body.status).toBe('read');
    expect(receiver.undocumented).toEqual([]);
  });

  it('refuses what the channel cannot show, naming the field, and hides other domains’ conversations', async () => {
    const { gatewayId } = await fakeChannel(t, channel, receiver);
    await userSays(t, channel, gatewayId, [{ id: 'c1', conversationId: 'pc-3', text: 'hi' }]);
    const id = await conversationOf(receiver, 'pc-3');
    const quick = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Pick one', quickReplies: [{ title: 'Yes' }] } });
    expect(quick.status).toBe(400);
    expect(quick.body.details).toEqual([expect.objectContaining({ field: 'quickReplies' })]);
    const empty = await t.request('POST', `/v1/conversations/${id}/messages`, { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.details).toEqual([expect.objectContaining({ field: 'text' })]);
    const badFile = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { attachments: [{ url: 'not a url', contentType: 'image/png' }] } });
    expect(badFile.status).toBe(400);
    expect(JSON.stringify(badFile.body.details)).toContain('attachments');
    const unknown = await t.request('GET', `/v1/conversations/${id}/messages/8c9f7a52-0f0c-4a4b-9f7e-4d1c0f3c1a11`);
    expect(unknown.status).toBe(404);
  });

  it('refuses typing on a channel that cannot show it with a 400 naming the field', async () => {
    // The fake channel as a type that declares no typing (a channel like SMS): the same platform, fewer capabilities.
    const plain = new FakeChannelGateway();
    Object.assign(plain, { definition: { ...plain.definition, type: 'fake-channel-plain', capabilities: plain.definition.capabilities.filter((c) => c !== 'typing') } });
    t.app.get(GatewayRegistry).register(plain);
    const { gatewayId } = await fakeChannel(t, channel, receiver, { type: 'fake-channel-plain' });
    await userSays(t, channel, gatewayId, [{ id: 'c1', conversationId: 'pc-4', text: 'hi' }]);
    const id = await conversationOf(receiver, 'pc-4');
    const typing = await t.request('POST', `/v1/conversations/${id}/typing`, { body: {} });
    expect(typing.status).toBe(400);
    expect(typing.body).toMatchObject({ code: 'validation_failed', details: [expect.objectContaining({ field: 'typing' })] });
    expect((await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'still fine' } })).status).toBe(202);
  });
});
