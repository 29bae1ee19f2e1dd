import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { QUEUES } from '../../src/queues/queues';
import { waitFor } from '../support/bot-receiver';
import { TestApp, withDatabase } from '../support/test-app';
import { fakeSuite } from '../escalations/fake-setup';
import { conversationOf, fakeChannel, userSays } from './channel-setup';

/**
 * The proactive API on a channel type with the capability `proactive` (the scripted fake channel; Teams has its own
 * end-to-end test): refused up front where the service knows the user is unreachable, idempotent per domain, its
 * outcome reported as `message_status` events marked `proactive`.
 */
describe('proactive messages: notifications and pushed conversations', () => {
  const suite = fakeSuite({});
  const { receiver } = suite;
  const channel = new FakeChannelPlatform();
  let t: TestApp;
  let gatewayId: string;
  let domain: string;
  beforeAll(async () => {
    t = suite.t;
    await channel.start();
    ({ gatewayId, domain } = await fakeChannel(t, channel, receiver, { maxAttempts: 2 }));
  });
  afterAll(() => channel.stop());

  const install = async (user: string) => {
    await userSays(t, channel, gatewayId, [{ id: `${user}-install`, conversationId: `pc-${user}`, type: 'reachability', user: { id: user }, reachability: { reachable: true } }]);
    return conversationOf(receiver, `pc-${user}`);
  };
  const notify = (user: string, text: string, key?: string) =>
    t.request('POST', '/v1/notifications', { body: { gatewayId, recipient: { userId: user }, message: { text } }, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
  const statusAtBot = (conversationId: string, messageId: string, status: string) =>
    waitFor(`${status} of ${messageId} at the bot`, () => receiver.of(conversationId).find((d) => d.type === 'message_status' && d.data.messageId === messageId && d.data.status === status));

  it('refuses a user the gateway has no conversation with (422 not_installed), and a gateway of another domain (404)', async () => {
    const unknown = await notify('nobody', 'hello');
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ code: 'not_installed', details: [{ field: 'recipient.userId' }] });
    const other = await fakeChannel(t, channel, receiver);
    const account = await t.request('POST', '/v1/accounts', { body: { name: `scoped-${Date.now()}`, role: 'Global Gateway Service', domains: [domain] } });
    const foreign = await t.request('POST', '/v1/notifications', { key: account.body.apiKey.key, body: { gatewayId: other.gatewayId, recipient: { userId: 'u' }, message: { text: 'x' } } });
    expect(foreign.status).toBe(404);
    const missing = await t.request('POST', '/v1/notifications', { body: { gatewayId, recipient: {}, message: { text: 'x' } } });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body.details)).toContain('recipient.userId');
  });

  it('sends a notification to an installed user, once per Idempotency-Key, and reports its outcome as proactive', async () => {
    const id = await install('ana');
    const first = await notify('ana', 'Your parcel ships today', 'n-ana-1');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ kind: 'notification', conversationId: id, gatewayId, status: 'accepted' });
    const again = await notify('ana', 'Your parcel ships today', 'n-ana-1');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const changed = await notify('ana', 'Something else', 'n-ana-1');
    expect(changed.status).toBe(409);
    const sent = await statusAtBot(id, first.body.id, 'sent');
    expect(sent.data.proactive).toBe(true);
    const sends = channel.delivered('pc-ana');
    expect(sends.map((s) => s.activity.text)).toEqual(['Your parcel ships today']);
    expect(sends[0].activity.proactive).toBe(true);
  });

  it('refuses users who uninstalled or were found unreachable, until they are back', async () => {
    const id = await install('ben');
    await userSays(t, channel, gatewayId, [{ id: 'ben-uninstall', conversationId: 'pc-ben', type: 'reachability', user: { id: 'ben' }, reachability: { reachable: false, reason: 'not_installed' } }]);
    await waitFor('reachability event', () => receiver.of(id).find((d) => d.type === 'user_reachability' && d.data.reachable === false));
    expect((await notify('ben', 'hello')).body.code).toBe('not_installed');
    // The user writes again: reachable.
    await userSays(t, channel, gatewayId, [{ id: 'ben-back', conversationId: 'pc-ben', user: { id: 'ben' }, text: 'hi again' }]);
    channel.addFault({ kind: 'unreachable', count: 1, reason: 'blocked' });
    const blocked = await notify('ben', 'one');
    expect(blocked.status).toBe(202);
    const failed = await statusAtBot(id, blocked.body.id, 'failed');
    expect(failed.data).toMatchObject({ reason: 'blocked', proactive: true });
    const refused = await notify('ben', 'two');
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('blocked');
  });

  it('waits out a throttling platform as often as it asks, keeping the order', async () => {
    const id = await install('cy');
    // More throttles than the gateway's API retry attempts (2): throttling is pacing, not failure.
    channel.addFault({ kind: 'rate_limited', count: 4, retryAfterMs: 50 });
    const one = await notify('cy', 'one');
    const two = await notify('cy', 'two');
    await statusAtBot(id, two.body.id, 'sent');
    const first = await t.request('GET', `/v1/conversations/${id}/messages/${one.body.id}`);
    expect(first.body).toMatchObject({ status: 'sent', attempts: 5 });
    expect(channel.delivered('pc-cy').map((s) => s.activity.text)).toEqual(['one', 'two']);
  });

  it('pushes a conversation: the bot is told it started with its context, and the user answers in it', async () => {
    const id = await install('dee');
    const push = await t.request('POST', '/v1/conversations', {
      headers: { 'idempotency-key': 'push-dee' },
      body: { gatewayId, recipient: { userId: 'dee' }, message: { text: 'Your laptop is ready. Book a pickup?' }, context: { intent: 'device_pickup', ticket: 'INC1' } },
    });
    expect(push.status).toBe(202);
    expect(push.body).toMatchObject({ kind: 'conversation', conversationId: id });
    const started = await waitFor('pushed conversation_started', () => receiver.of(id).find((d) => d.type === 'conversation_started' && d.data.origin === 'proactive'));
    expect(started.data).toMatchObject({ messageId: push.body.id, context: { intent: 'device_pickup', ticket: 'INC1' }, gatewayId, platformConversationId: 'pc-dee' });
    await statusAtBot(id, push.body.id, 'sent');
    await userSays(t, channel, gatewayId, [{ id: 'dee-answer', conversationId: 'pc-dee', user: { id: 'dee' }, text: 'Yes, tomorrow' }]);
    const answer = await waitFor('answer', () => receiver.of(id).find((d) => d.type === 'user_message' && d.data.text === 'Yes, tomorrow'));
    expect(answer.seq).toBeGreaterThan(started.seq);
    // A replay is the same push, not a second one; the same key for a notification is another request.
    const replay = await t.request('POST', '/v1/conversations', {
      headers: { 'idempotency-key': 'push-dee' },
      body: { gatewayId, recipient: { userId: 'dee' }, message: { text: 'Your laptop is ready. Book a pickup?' }, context: { intent: 'device_pickup', ticket: 'INC1' } },
    });
    expect(replay.body.id).toBe(push.body.id);
    expect(receiver.of(id).filter((d) => d.type === 'conversation_started' && d.data.origin === 'proactive')).toHaveLength(1);
    expect((await t.request('POST', '/v1/notifications', { headers: { 'idempotency-key': 'push-dee' }, body: { gatewayId, recipient: { userId: 'dee' }, message: { text: 'x' } } })).status).toBe(409);
    expect(receiver.undocumented).toEqual([]);
  });

  it('keeps an opt-out list from the users (STOP, START) and from operators, and refuses those on it', async () => {
    const id = await install('eve');
    await userSays(t, channel, gatewayId, [{ id: 'eve-stop', conversationId: 'pc-eve', type: 'reachability', user: { id: 'eve' }, reachability: { reachable: false, reason: 'opted_out' } }]);
    await waitFor('opt-out at the bot', () => receiver.of(id).find((d) => d.type === 'user_reachability' && d.data.reason === 'opted_out'));
    expect((await notify('eve', 'hello')).body).toMatchObject({ code: 'opted_out', details: [{ field: 'recipient.userId', message: 'opted_out' }] });
    const listed = await t.request('GET', `/v1/gateways/${gatewayId}/opt-outs`);
    expect(listed.body.items).toEqual([expect.objectContaining({ userId: 'eve', source: 'user' })]);
    // START takes her off.
    await userSays(t, channel, gatewayId, [{ id: 'eve-start', conversationId: 'pc-eve', type: 'reachability', user: { id: 'eve' }, reachability: { reachable: true } }]);
    expect((await t.request('GET', `/v1/gateways/${gatewayId}/opt-outs`)).body.items).toEqual([]);
    expect((await notify('eve', 'hello again')).status).toBe(202);

    // An operator puts her back, with a note; taking her off twice is a 404 the second time.
    expect((await t.request('PUT', `/v1/gateways/${gatewayId}/opt-outs/eve`, { body: { note: 'asked by phone' } })).status).toBe(204);
    expect((await t.request('GET', `/v1/gateways/${gatewayId}/opt-outs`)).body.items).toEqual([expect.objectContaining({ userId: 'eve', source: 'operator', note: 'asked by phone' })]);
    expect((await notify('eve', 'no')).body.code).toBe('opted_out');
    expect((await t.request('DELETE', `/v1/gateways/${gatewayId}/opt-outs/eve`)).status).toBe(204);
    expect((await t.request('DELETE', `/v1/gateways/${gatewayId}/opt-outs/eve`)).status).toBe(404);
    expect((await notify('eve', 'yes')).status).toBe(202);
  });

  it('reaches a user by address alone on a channel that can (as SMS), starting their conversation with the message', async () => {
    const sms = await fakeChannel(t, channel, receiver, { inDomain: domain, configuration: { addressable: true } });
    const bad = await t.request('POST', '/v1/notifications', { body: { gatewayId: sms.gatewayId, recipient: { userId: 'not-a-number' }, message: { text: 'x' } } });
    expect([bad.status, bad.body.code]).toEqual([422, 'invalid_recipient']);
    const first = await t.request('POST', '/v1/notifications', { body: { gatewayId: sms.gatewayId, recipient: { userId: '+34600111222' }, message: { text: 'Your code is 1234' } } });
    expect(first.status).toBe(202);
    const started = await waitFor('conversation_started', () => receiver.of(first.body.conversationId).find((d) => d.type === 'conversation_started'));
    expect(started.data).toMatchObject({ origin: 'proactive', platformConversationId: 'pc-+34600111222', user: { id: '+34600111222' } });
    await statusAtBot(first.body.conversationId, first.body.id, 'sent');
    // The next one goes to the same conversation; the user's answer lands in it.
    const second = await t.request('POST', '/v1/notifications', { body: { gatewayId: sms.gatewayId, recipient: { userId: '+34600111222' }, message: { text: 'Reminder' } } });
    expect(second.body.conversationId).toBe(first.body.conversationId);
    expect(receiver.of(first.body.conversationId).filter((d) => d.type === 'conversation_started')).toHaveLength(1);
    await statusAtBot(first.body.conversationId, second.body.id, 'sent');
    expect(channel.delivered('pc-+34600111222').map((m) => m.activity.text)).toEqual(['Your code is 1234', 'Reminder']);
  });

  it("holds a proactive message stored in the gateway's quiet hours until they end, without dropping it", async () => {
    // A time zone the runtime does not know is refused, naming the setting.
    const mars = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'fake-channel',
        settings: { basic: { name: 'mars', domain, deployed: false, platformUrl: channel.baseUrl, webhookSecret: 'x' }, configuration: { quietHoursStart: '21:00', quietHoursEnd: '08:00', quietHoursTimeZone: 'Mars/Olympus' } },
      },
    });
    expect([mars.status, mars.body.details]).toEqual([400, [{ field: 'settings.configuration.quietHoursTimeZone', message: "'Mars/Olympus' is not an IANA time zone" }]]);
    // Quiet from an hour ago to an hour from now, in UTC: the message is held.
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = Date.now();
    const quiet = await fakeChannel(t, channel, receiver, {
      inDomain: domain,
      configuration: { addressable: true, quietHoursStart: hhmm(new Date(now - 3_600_000)), quietHoursEnd: hhmm(new Date(now + 3_600_000)), quietHoursTimeZone: 'UTC' },
    });
    const held = await t.request('POST', '/v1/notifications', { body: { gatewayId: quiet.gatewayId, recipient: { userId: '+34600999000' }, message: { text: 'Good morning' } } });
    expect(held.status).toBe(202);
    // Held until the quiet hours' end: the minute of now + 1 hour, whenever the request was answered.
    expect(held.body.notBefore).toBe(new Date(now + 3_600_000 - ((now + 3_600_000) % 60_000)).toISOString());
    const id = held.body.conversationId as string;
    // The sender looked at it and left it waiting: a send job for the conversation delayed to the end of the quiet hours.
    const sends = t.app.get<Queue>(getQueueToken(QUEUES.channelSends));
    const waiting = await waitFor('the delayed send', async () => (await sends.getDelayed()).find((job) => job.data.conversationId === id));
    expect(await waiting.isDelayed()).toBe(true);
    expect((await t.request('GET', `/v1/conversations/${id}/messages/${held.body.id}`)).body).toMatchObject({ status: 'accepted', attempts: 0 });
    expect(channel.delivered('pc-+34600999000')).toEqual([]);
    // The quiet hours end (moved to now, as the clock would, and the delayed job promoted): it goes.
    await withDatabase((db) => db.query(`UPDATE outbound_messages SET next_attempt_at = now() WHERE id = $1`, [held.body.id]));
    await waiting.promote();
    await statusAtBot(id, held.body.id, 'sent');
    expect(channel.delivered('pc-+34600999000').map((m) => m.activity.text)).toEqual(['Good morning']);
  });
});
