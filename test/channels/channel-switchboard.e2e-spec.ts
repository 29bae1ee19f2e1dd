import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { waitFor } from '../support/bot-receiver';
import { TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from '../escalations/fake-setup';
import { conversationOf, fakeChannel, userSays } from './channel-setup';

describe('the switchboard on a channel conversation', () => {
  const suite = fakeSuite({ POLL_TICK_MS: '100' });
  const { platform, receiver } = suite;
  const channel = new FakeChannelPlatform();
  let t: TestApp;
  beforeAll(async () => {
    t = suite.t;
    await channel.start();
  });
  afterAll(() => channel.stop());

  const escalate = async (agentMessages: 'channel' | 'bot', pc: string) => {
    const { domain, domainId, gatewayId: channelGateway } = await fakeChannel(t, channel, receiver, { agentMessages });
    const { gatewayId } = await fakeGateway(t, platform, receiver, { transferBack: true, inDomain: { domain, domainId } });
    await userSays(t, channel, channelGateway, [{ id: `${pc}-1`, conversationId: pc, text: 'I want a human' }]);
    const id = await conversationOf(receiver, pc);
    const body = { ...escalationBody(domain, gatewayId, 'unused'), conversation: { id } };
    const res = await t.request('POST', '/v1/escalations', { body, headers: { 'idempotency-key': `esc-${pc}` } });
    expect(res.status).toBe(202);
    expect(res.body.conversationId).toBe(id);
    const session = await waitFor('platform session', () => platform.sessionFor(res.body.id));
    platform.push(session.id, 'agent_joined', { agent: { id: 'a-1', name: 'Grace' } });
    await waitFor('agent joined at the bot', () => receiver.of(id).some((d) => d.type === 'agent_joined'));
    return { id, session, channelGateway, escalationId: res.body.id };
  };

  it("relays the user's messages to the agent and sends the agent's straight to the channel", async () => {
    const { id, session, channelGateway } = await escalate('channel', 'sw-1');
    const refused = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'bot here' } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('control_conflict');

    await userSays(t, channel, channelGateway, [{ id: 'sw-1-2', conversationId: 'sw-1', text: 'my card is blocked' }]);
    await waitFor('user message relayed to the agent', () => session.received.some((r) => r.kind === 'message' && r.body.text === 'my card is blocked'));

    platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'Let me check' });
    const sent = await waitFor('agent message on the channel', () => channel.delivered('sw-1').find((s) => s.activity.text === 'Let me check'));
    expect(sent.activity).toMatchObject({ author: 'agent', authorName: 'Grace' });
    // The bot sees every event either way.
    await waitFor('agent message at the bot too', () => receiver.of(id).some((d) => d.type === 'agent_message'));

    platform.push(session.id, 'ended', { by: 'agent' });
    await waitFor('control back to the bot', async () => (await t.request('GET', `/v1/conversations/${id}`)).body.control === 'bot');
    const after = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Anything else?' } });
    expect(after.status).toBe(202);
    expect(receiver.undocumented).toEqual([]);
  });

  it('with agent_messages "bot" only the bot gets the agent’s message, and sends it as the agent', async () => {
    const { id, session } = await escalate('bot', 'sw-2');
    platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'Hola' });
    await waitFor('agent message at the bot', () => receiver.of(id).some((d) => d.type === 'agent_message'));
    const relayed = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { author: 'agent', authorName: 'Grace', text: 'Hello (translated)' } });
    expect(relayed.status).toBe(202);
    await waitFor('the translated message on the channel', () => channel.delivered('sw-2').some((s) => s.activity.text === 'Hello (translated)'));
    expect(channel.delivered('sw-2').some((s) => s.activity.text === 'Hola')).toBe(false);
  });
});
