import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { waitFor } from '../support/bot-receiver';
import { ServiceProcess } from '../support/service-process';
import { freePort, requestAgainst, TestApp, TestRequest } from '../support/test-app';
import { fakeSuite } from '../escalations/fake-setup';
import { conversationOf, fakeChannel, WEBHOOK_SECRET } from './channel-setup';

const statusOf = async (request: TestRequest, id: string, messageId: string, wanted: string[]) =>
  waitFor(`message ${messageId} ${wanted.join('/')}`, async () => {
    const res = await request('GET', `/v1/conversations/${id}/messages/${messageId}`);
    return wanted.includes(res.body.status) ? res.body : null;
  }, 15_000);

describe('sending to a channel: retries, unreachable users, a down bot', () => {
  const suite = fakeSuite({});
  const { receiver } = suite;
  const channel = new FakeChannelPlatform();
  let t: TestApp;
  beforeAll(async () => {
    t = suite.t;
    await channel.start();
  });
  afterAll(() => channel.stop());

  const open = async (pc: string) => {
    const { gatewayId } = await fakeChannel(t, channel, receiver);
    await channel.push(`${t.url}/v1/webhooks/${gatewayId}`, WEBHOOK_SECRET, [{ id: `${pc}-1`, conversationId: pc, text: 'hi' }]);
    return conversationOf(receiver, pc);
  };

  it('retries transient and rate-limited failures in order, and fails an unreachable user without holding the rest', async () => {
    const id = await open('s-1');
    channel.addFault({ kind: 'transient', count: 2 });
    const first = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'one' } });
    const second = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'two' } });
    const sentFirst = await statusOf(t.request, id, first.body.id, ['sent']);
    expect(sentFirst.attempts).toBe(3);
    await statusOf(t.request, id, second.body.id, ['sent']);
    expect(channel.delivered('s-1').map((s) => s.activity.text)).toEqual(['one', 'two']);

    channel.addFault({ kind: 'rate_limited', count: 1, retryAfterMs: 100 });
    const third = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'three' } });
    expect((await statusOf(t.request, id, third.body.id, ['sent'])).attempts).toBe(2);

    channel.addFault({ kind: 'unreachable', count: 1, reason: 'blocked' });
    const blocked = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'four' } });
    const after = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'five' } });
    const failed = await statusOf(t.request, id, blocked.body.id, ['failed', 'sent']);
    expect(failed).toMatchObject({ status: 'failed', reason: 'blocked', attempts: 1 });
    await statusOf(t.request, id, after.body.id, ['sent']);
    await waitFor('failed status at the bot', () => receiver.of(id).some((d) => d.type === 'message_status' && d.data.status === 'failed' && d.data.reason === 'blocked'));
    expect(receiver.undocumented).toEqual([]);
  });

  it("applies a receipt that arrives before the send's answer, instead of dropping it", async () => {
    const id = await open('s-early');
    const gatewayId = receiver.of(id)[0].data.gatewayId as string;
    const held = channel.holdNext();
    const message = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'quick one' } });
    await held.arrived;
    // The platform reports delivery while its answer to the send is still on the way.
    const platformId = channel.idFor(message.body.id)!;
    await channel.push(`${t.url}/v1/webhooks/${gatewayId}`, WEBHOOK_SECRET, [{ id: 'early-receipt', conversationId: 's-early', type: 'receipt', receipt: { platformMessageId: platformId, status: 'delivered' } }]);
    held.release();
    await statusOf(t.request, id, message.body.id, ['delivered']);
    await waitFor('both status events', () => receiver.of(id).filter((d) => d.type === 'message_status' && d.data.messageId === message.body.id).length === 2);
    expect(receiver.of(id).filter((d) => d.type === 'message_status' && d.data.messageId === message.body.id).map((d) => d.data.status)).toEqual(['sent', 'delivered']);
  });

  it("holds the user's messages in order while the bot's callback is down", async () => {
    const id = await open('s-2');
    receiver.failNext(3, id);
    const gatewayId = receiver.of(id)[0].data.gatewayId as string;
    for (const n of [2, 3, 4]) await channel.push(`${t.url}/v1/webhooks/${gatewayId}`, WEBHOOK_SECRET, [{ id: `s-2-${n}`, conversationId: 's-2', text: `m${n}` }]);
    await waitFor('every message at the bot', () => receiver.of(id).filter((d) => d.type === 'user_message').length === 4, 20_000);
    expect(receiver.of(id).filter((d) => d.type === 'user_message').map((d) => d.data.text)).toEqual(['hi', 'm2', 'm3', 'm4']);
    const firsts = receiver.of(id).filter((d, i, all) => all.findIndex((o) => o.id === d.id) === i);
    expect(firsts.map((d) => d.seq)).toEqual(firsts.map((_, i) => i + 1));
  }, 30_000);
});

describe('a worker killed mid-send', () => {
  const { receiver } = fakeSuite();
  const channel = new FakeChannelPlatform();
  beforeAll(() => channel.start());
  afterAll(() => channel.stop());

  it('sends each message at most once per attempt and says the interrupted attempt happened', async () => {
    const port = await freePort();
    // LOG_LEVEL info: ServiceProcess knows a worker is up by its 'worker started' line.
    const env = { PORT: String(port), LOG_LEVEL: 'info', RECONCILE_INTERVAL_SECONDS: '2' };
    const api = new ServiceProcess({ ...env, APP_ROLE: 'api' });
    const worker = new ServiceProcess({ ...env, APP_ROLE: 'worker' });
    const replacement = new ServiceProcess({ ...env, APP_ROLE: 'worker' });
    const url = `http://127.0.0.1:${port}`;
    try {
      await Promise.all([api.start(`${url}/health/ready`), worker.start()]);
      const request = requestAgainst(url);
      const { gatewayId } = await fakeChannel({ request }, channel, receiver);
      await channel.push(`${url}/v1/webhooks/${gatewayId}`, WEBHOOK_SECRET, [{ id: 'k-1', conversationId: 'k-1', text: 'hi' }]);
      const id = await conversationOf(receiver, 'k-1');
      const held = channel.holdNext();
      const first = await request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'in flight' } });
      const second = await request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'behind it' } });
      await held.arrived;
      await worker.kill9();
      held.release();
      await replacement.start();
      const sent = await statusOf(request, id, first.body.id, ['sent']);
      expect(sent.attempts).toBe(2);
      expect(sent.detail).toContain('interrupted');
      await statusOf(request, id, second.body.id, ['sent']);
      const attempts = channel.sends.filter((s) => s.messageId === first.body.id);
      // One request per attempt: the killed one and the one after the restart, each with the same message id.
      expect(attempts.length).toBe(2);
      expect(channel.sends.filter((s) => s.messageId === second.body.id).length).toBe(1);
    } finally {
      await Promise.all([api.stop(), worker.stop(), replacement.stop()]);
    }
  }, 90_000);
});
