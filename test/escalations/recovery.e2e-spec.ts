import { Redis } from 'ioredis';
import { Delivery, waitFor } from '../support/bot-receiver';
import { PrivateRedis } from '../support/private-redis';
import { ServiceProcess } from '../support/service-process';
import { freePort, requestAgainst, startTestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from './fake-setup';

/**
 * A consumer that follows the Standard Webhooks advice and ignores a webhook-id it already processed. Delivery is
 * at-least-once: a crash between the callback's 2xx and our commit repeats the unrecorded deliveries with the same ids.
 */
function firstDeliveries(deliveries: Delivery[]): Delivery[] {
  const seen = new Set<string>();
  return deliveries.filter((d) => (seen.has(d.id) ? false : (seen.add(d.id), true)));
}

function expectExactlyOnceInOrder(deliveries: Delivery[]): void {
  const unique = firstDeliveries(deliveries);
  expect(unique.map((d) => d.seq)).toEqual(unique.map((_, i) => i + 1));
  expect(unique.every((d) => d.verified)).toBe(true);
}

describe('recovery: PostgreSQL is the truth', () => {
  const { platform, receiver } = fakeSuite();

  it('loses, repeats and reorders nothing when a worker is killed with SIGKILL mid-relay', async () => {
    const port = await freePort();
    const env = { PORT: String(port), LOG_LEVEL: 'info', RECONCILE_INTERVAL_SECONDS: '2', POLL_TICK_MS: '100' };
    const apiProcess = new ServiceProcess({ ...env, APP_ROLE: 'api' });
    const worker = new ServiceProcess({ ...env, APP_ROLE: 'worker' });
    const replacement = new ServiceProcess({ ...env, APP_ROLE: 'worker' });
    const url = `http://127.0.0.1:${port}`;
    try {
      await Promise.all([apiProcess.start(`${url}/health/ready`), worker.start()]);
      const request = requestAgainst(url);
      const { domain, gatewayId } = await fakeGateway({ request }, platform, receiver);
      const created = await request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-kill'), headers: { 'idempotency-key': 'kill-1' } });
      expect(created.status).toBe(202);
      const escalation = created.body;
      const session = await waitFor('platform session', () => platform.sessionFor(escalation.id), 15_000);
      platform.push(session.id, 'agent_joined', { agent: { id: 'a', name: 'Agent' } });
      await waitFor('agent joined at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'), 15_000);

      platform.latencyMs = 40;
      const total = 30;
      for (let i = 1; i <= total; i++) {
        const res = await request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: `msg-${i}` } });
        expect(res.status).toBe(202);
        if (i % 3 === 0) platform.push(session.id, 'agent_message', { text: `reply-${i / 3}` });
      }
      await waitFor('relay under way', () => session.received.filter((r) => r.kind === 'message').length >= 5, 15_000);
      // Killed while a message is on its way (held on the platform), whatever the machine's speed: mid-relay for sure.
      const inFlight = platform.holdNext('message');
      await inFlight.arrived;
      await worker.kill9();
      inFlight.release();
      const sentAtKill = session.received.filter((r) => r.kind === 'message').length;
      expect(sentAtKill).toBeLessThan(total);
      for (let i = 11; i <= 15; i++) platform.push(session.id, 'agent_message', { text: `after-kill-${i}` });
      await replacement.start();

      const texts = () => session.received.filter((r) => r.kind === 'message').map((r) => r.body.text as string);
      await waitFor('every message relayed', () => new Set(texts()).size === total, 60_000, 200);
      const firstOccurrence = texts().filter((text, i, all) => all.indexOf(text) === i);
      expect(firstOccurrence).toEqual(Array.from({ length: total }, (_, i) => `msg-${i + 1}`));
      // At most the one message in flight at the kill can reach the platform twice (at-least-once at that boundary).
      expect(texts().length - total).toBeLessThanOrEqual(1);

      const expectedAgentMessages = total / 3 + 5;
      await waitFor('every agent message at the bot', () => firstDeliveries(receiver.of(escalation.conversationId)).filter((d) => d.type === 'agent_message').length === expectedAgentMessages, 60_000, 200);
      expectExactlyOnceInOrder(receiver.of(escalation.conversationId));
      const detail = await request('GET', `/v1/escalations/${escalation.id}`);
      expect(detail.body.relay.every((r: { status: string }) => r.status === 'sent')).toBe(true);
    } finally {
      platform.latencyMs = 0;
      worker.kill9();
      await Promise.all([apiProcess.stop(), replacement.stop()]);
    }
  }, 120_000);

  it("sends a relayed message once when the relay's Redis lock is lost while it is being sent", async () => {
    const t = await startTestApp({ POLL_TICK_MS: '100' });
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const first = platform.holdNext('message');
    try {
      const { domain, gatewayId } = await fakeGateway(t, platform, receiver, { name: 'lease' });
      const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-lease'), headers: { 'idempotency-key': 'lease-1' } });
      const session = await waitFor('platform session', () => platform.sessionFor(res.body.id), 15_000);
      // The first message is held on the platform; meanwhile its drainer's Redis lock vanishes (as in a flush or a
      // failover) and the next message's job finds the lock free, with the first message still pending.
      await t.request('POST', `/v1/escalations/${res.body.id}/messages`, { body: { text: 'first' } });
      await first.arrived;
      const lockKeys = await redis.keys(`${process.env.REDIS_PREFIX}*relay:${res.body.id}*`);
      expect(await redis.del(...lockKeys)).toBeGreaterThan(0);
      await t.request('POST', `/v1/escalations/${res.body.id}/messages`, { body: { text: 'second' } });
      // The second drainer took the free lock, found the relay lease held and left a look-again job (relay.<id>.lease-<n>).
      await waitFor('the second drainer turned away by the relay lease', async () => (await redis.keys(`${process.env.REDIS_PREFIX}*relay.${res.body.id}.lease-*`)).length > 0);
      first.release();
      await waitFor('both messages on the platform', () => session.received.filter((r) => r.kind === 'message').length >= 2, 15_000);
      // Until the relay has nothing left to send and nothing is on its way to the platform: a second drainer's copy,
      // had there been one, would be among what the platform received by then.
      await waitFor('every relay command settled and the platform idle', async () => {
        const relay = (await t.request('GET', `/v1/escalations/${res.body.id}`)).body.relay as { status: string }[];
        return platform.inFlight === 0 && relay.length === 2 && relay.every((r) => r.status === 'sent');
      });
      expect(session.received.filter((r) => r.kind === 'message').map((r) => r.body.text)).toEqual(['first', 'second']);
      const detail = await t.request('GET', `/v1/escalations/${res.body.id}`);
      expect(detail.body.relay.map((r: { status: string; attempts: number }) => [r.status, r.attempts])).toEqual([
        ['sent', 1],
        ['sent', 1],
      ]);
    } finally {
      first.release();
      redis.disconnect();
      await t.close();
    }
  }, 40_000);

  it('rebuilds schedules and pending work after Redis is flushed during a live escalation', async () => {
    // A Redis server of its own, so that FLUSHALL cannot disturb the suites running in parallel on the shared one.
    const privateRedis = new PrivateRedis();
    await privateRedis.start();
    const t = await startTestApp({ REDIS_URL: privateRedis.url, RECONCILE_INTERVAL_SECONDS: '2', POLL_TICK_MS: '100' });
    const redis = new Redis(privateRedis.url);
    try {
      const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
      const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-flush'), headers: { 'idempotency-key': 'flush-1' } });
      const escalation = res.body;
      const session = await waitFor('platform session', () => platform.sessionFor(escalation.id), 15_000);
      platform.push(session.id, 'agent_joined', { agent: { id: 'a', name: 'Agent' } });
      await waitFor('agent joined', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'), 15_000);

      // Hold deliveries so work is pending in Redis when it vanishes.
      receiver.failNext(1, escalation.conversationId);
      platform.push(session.id, 'agent_message', { text: 'before flush' });
      await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'user before flush' } });
      await waitFor('delivery attempted', () => receiver.attempts.some((a) => a.conversationId === escalation.conversationId && a.status === 503), 15_000);

      // The live service writes again within milliseconds of the flush, so what is checked is that there was
      // something to lose (the delivery's retry job among it) and that it was flushed.
      expect(await redis.dbsize()).toBeGreaterThan(0);
      expect(await redis.flushall()).toBe('OK');

      platform.push(session.id, 'agent_message', { text: 'after flush' });
      await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'user after flush' } });
      await waitFor('polling resumed and everything delivered', () => {
        const texts = firstDeliveries(receiver.of(escalation.conversationId)).filter((d) => d.type === 'agent_message').map((d) => d.data.text);
        return texts.includes('before flush') && texts.includes('after flush');
      }, 30_000, 200);
      await waitFor('user messages relayed', () => session.received.filter((r) => r.kind === 'message').length >= 2, 30_000);
      expect(session.received.filter((r) => r.kind === 'message').map((r) => r.body.text)).toEqual(['user before flush', 'user after flush']);
      expectExactlyOnceInOrder(receiver.of(escalation.conversationId));
    } finally {
      redis.disconnect();
      await t.close();
      await privateRedis.stop();
    }
  }, 60_000);
});
