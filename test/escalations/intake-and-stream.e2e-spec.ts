import { EscalationProducer } from '@app/client';
import { FakePlatform } from '@app/simulators/fake/fake-platform';
import { Client } from 'pg';
import { BotReceiver, waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, SIGNING_SECRET } from './fake-setup';

describe('intake queue, replay, live stream and dedupe', () => {
  let t: TestApp;
  let producer: EscalationProducer;
  const platform = new FakePlatform();
  const receiver = new BotReceiver(SIGNING_SECRET);

  beforeAll(async () => {
    await resetState();
    await platform.start();
    await receiver.start();
    t = await startTestApp({ POLL_TICK_MS: '100' });
    producer = new EscalationProducer({ connection: { host: '127.0.0.1', port: 6379 }, prefix: process.env.REDIS_PREFIX });
  });
  afterAll(async () => {
    await producer.close();
    await t.close();
    await platform.stop();
    await receiver.stop();
  });

  it('creates an escalation from the escalation-requests queue, once per key', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const job = { idempotencyKey: 'q-1', requestedBy: 'crm', request: escalationBody(domain, gatewayId, 'conv-queue') as never };
    const jobId = await producer.enqueue(job);
    expect(await producer.enqueue(job)).toBe(jobId);
    const outcome = await waitFor('job completed', async () => {
      const o = await producer.outcome(jobId);
      return o.state === 'completed' ? o : null;
    });
    const escalation = await t.request('GET', `/v1/escalations/${outcome.escalationId}`);
    expect(escalation.body.state).not.toBe('failed');
    await waitFor('platform session', () => platform.sessionFor(outcome.escalationId!));
    const list = await t.request('GET', `/v1/escalations?domain=${domain}`);
    expect(list.body.total).toBe(1);
  }, 15_000);

  it('fails an invalid job without retry and keeps its validation errors', async () => {
    const jobId = await producer.enqueue({ idempotencyKey: 'q-bad', requestedBy: 'crm', request: { domain: 'x', gatewayId: 'not-a-uuid', user: {} } as never });
    const outcome = await waitFor('job failed', async () => {
      const o = await producer.outcome(jobId);
      return o.state === 'failed' ? o : null;
    });
    const errors = outcome.errors as { code: string; details: { field: string }[] };
    expect(errors.code).toBe('validation_failed');
    expect(errors.details.map((d) => d.field)).toEqual(expect.arrayContaining(['request.gatewayId', 'request.conversation']));
  });

  it('replays events after a sequence number and streams them live, resuming from Last-Event-ID', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const controller = new AbortController();
    const streamed: { id: string; type: string; conversationId: string }[] = [];
    const res = await fetch(`${t.url}/v1/events/stream?domain=${domain}`, { headers: { authorization: `Bearer ${process.env.BOOTSTRAP_API_KEY}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk);
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.split('\n').find((l) => l.startsWith('data: '));
            if (data) streamed.push(JSON.parse(data.slice(6)));
          }
        }
      } catch {
        // aborted
      }
    })();

    const created = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-stream'), headers: { 'idempotency-key': 'stream-1' } });
    const escalation = created.body;
    const session = await waitFor('session', () => platform.sessionFor(escalation.id));
    platform.push(session.id, 'agent_joined', { agent: { id: 'a', name: 'A' } });
    platform.push(session.id, 'agent_message', { text: 'hi' });
    await waitFor('streamed', () => streamed.filter((e) => e.conversationId === escalation.conversationId).length >= 4);
    controller.abort();
    await reader;
    const mine = streamed.filter((e) => e.conversationId === escalation.conversationId);
    expect(mine.map((e) => e.type)).toEqual(['queued', 'queued', 'agent_joined', 'agent_message']);

    const replay = await t.request('GET', `/v1/conversations/${escalation.conversationId}/events?after=2`);
    expect(replay.body.map((e: { type: string; seq: number }) => [e.seq, e.type])).toEqual([
      [3, 'agent_joined'],
      [4, 'agent_message'],
    ]);

    // Resume: a client that saw the agent_joined event gets only what followed.
    const resumeFrom = mine[2].id;
    const resumed = await collect(`${t.url}/v1/events/stream?domain=${domain}`, resumeFrom, 800);
    expect(resumed.map((e) => e.type)).toEqual(['agent_message']);
  }, 20_000);

  it('stores a platform event seen twice once', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const created = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-dedupe'), headers: { 'idempotency-key': 'dedupe-1' } });
    const session = await waitFor('session', () => platform.sessionFor(created.body.id));
    platform.push(session.id, 'agent_message', { text: 'once' });
    await waitFor('delivered', () => receiver.of(created.body.conversationId).some((d) => d.type === 'agent_message'));
    // Rewind the stored cursor: the next poll returns every platform event again.
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    await db.query(`UPDATE escalations SET cursor = '0' WHERE id = $1`, [created.body.id]);
    await waitFor('cursor caught up again', async () => (await db.query(`SELECT cursor FROM escalations WHERE id = $1`, [created.body.id])).rows[0].cursor !== '0');
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE escalation_id = $1 AND type = 'agent_message'`, [created.body.id]);
    await db.end();
    expect(rows[0].n).toBe(1);
    expect(receiver.of(created.body.conversationId).filter((d) => d.type === 'agent_message')).toHaveLength(1);
  });
});

async function collect(url: string, lastEventId: string, forMs: number): Promise<{ type: string }[]> {
  const out: { type: string }[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), forMs);
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${process.env.BOOTSTRAP_API_KEY}`, 'last-event-id': lastEventId }, signal: controller.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk);
      for (const frame of buffer.split('\n\n').slice(0, -1)) {
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (data) out.push(JSON.parse(data.slice(6)));
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
    }
  } catch {
    // aborted on purpose
  } finally {
    clearTimeout(timer);
  }
  return out;
}
