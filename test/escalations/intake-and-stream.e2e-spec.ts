import { EscalationProducer } from '@app/client';
import { Client } from 'pg';
import { BotReceiver, clockPast, verifiesWith, waitFor } from '../support/bot-receiver';
import { TestApp, withDatabase } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from './fake-setup';

describe('intake queue, replay, live stream and dedupe', () => {
  const suite = fakeSuite({ POLL_TICK_MS: '100' });
  const { platform, receiver } = suite;
  let t: TestApp;
  let producer: EscalationProducer;

  beforeAll(() => {
    t = suite.t;
    producer = new EscalationProducer({ connection: { host: '127.0.0.1', port: 6379 }, prefix: process.env.REDIS_PREFIX });
  });
  afterAll(() => producer.close());

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

  it('lists escalations by state, gateway, domain and creation time, newest first, in pages', async () => {
    const first = await fakeGateway(t, platform, receiver);
    const second = await fakeGateway(t, platform, receiver, { inDomain: first, name: 'fake-2' });
    const started: { id: string; createdAt: string }[] = [];
    for (const [gatewayId, externalId] of [[first.gatewayId, 'list-1'], [first.gatewayId, 'list-2'], [first.gatewayId, 'list-3'], [second.gatewayId, 'list-4']]) {
      const res = await t.request('POST', '/v1/escalations', { body: escalationBody(first.domain, gatewayId, externalId), headers: { 'idempotency-key': externalId } });
      expect(res.status).toBe(202);
      started.push(res.body);
      await clockPast(Date.parse(res.body.createdAt)); // distinct creation times
    }
    const list = async (query: string) => {
      const res = await t.request('GET', `/v1/escalations?domain=${first.domain}${query}`);
      expect(res.status).toBe(200);
      return res.body as { items: { id: string; state: string }[]; page: number; pageSize: number; total: number };
    };
    for (const e of started) await waitFor('queued', async () => (await t.request('GET', `/v1/escalations/${e.id}`)).body.state === 'queued');
    expect((await t.request('POST', `/v1/escalations/${started[0].id}/end`, { body: {} })).status).toBe(202);
    await waitFor('ended', async () => (await t.request('GET', `/v1/escalations/${started[0].id}`)).body.state === 'ended');

    const newestFirst = [...started].reverse().map((e) => e.id);
    expect((await list('')).items.map((e) => e.id)).toEqual(newestFirst);
    expect((await list(`&gatewayId=${second.gatewayId}`)).items.map((e) => e.id)).toEqual([started[3].id]);
    expect((await list('&state=ended')).items.map((e) => e.id)).toEqual([started[0].id]);
    expect((await list('&state=queued,ended')).total).toBe(4);
    expect((await list('&state=failed')).total).toBe(0);
    expect((await list(`&from=${encodeURIComponent(started[2].createdAt)}`)).items.map((e) => e.id)).toEqual(newestFirst.slice(0, 2));
    expect((await list(`&to=${encodeURIComponent(started[1].createdAt)}`)).items.map((e) => e.id)).toEqual([started[0].id]);
    const page1 = await list('&pageSize=3&page=1');
    const page2 = await list('&pageSize=3&page=2');
    expect(page1).toMatchObject({ page: 1, pageSize: 3, total: 4, totalCapped: false });
    expect([...page1.items, ...page2.items].map((e) => e.id)).toEqual(newestFirst);
    const bad = await t.request('GET', `/v1/escalations?pageSize=0`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('pageSize');
  }, 20_000);

  it("keeps a domain's signing secret write-only, and signs with the one last set", async () => {
    const secret = 'whsec_' + Buffer.from('first-secret-of-this-domain-32b!').toString('base64');
    const created = await t.request('POST', '/v1/domains', { body: { name: `secret-${Date.now()}`, callbackUrl: receiver.url, signingSecret: secret } });
    expect(created.status).toBe(201);
    expect(created.body.signingSecretSet).toBe(true);
    const id = created.body.id as string;
    const texts = [created.text, (await t.request('GET', `/v1/domains/${id}`)).text, (await t.request('GET', '/v1/domains')).text];
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const stored = await db.query(`SELECT signing_secret FROM domains WHERE id = $1`, [id]);
      texts.push(stored.rows[0].signing_secret);
    } finally {
      await db.end();
    }
    for (const text of texts) expect(text).not.toContain(secret.slice(6));

    // A new secret and callback: what is delivered afterwards is signed with it.
    const other = new BotReceiver('whsec_' + Buffer.from('second-secret-of-this-domain-32!').toString('base64'));
    await other.start();
    try {
      const updated = await t.request('PATCH', `/v1/domains/${id}`, { body: { callbackUrl: other.url, signingSecret: other.secret } });
      expect(updated.status).toBe(200);
      expect(updated.text).not.toContain(other.secret.slice(6));
      const kept = await t.request('PATCH', `/v1/domains/${id}`, { body: { description: 'renamed nothing else' } });
      expect(kept.body.signingSecretSet).toBe(true);
      // null clears a description; a secret can be replaced, not removed.
      const cleared = await t.request('PATCH', `/v1/domains/${id}`, { body: { description: null } });
      expect(cleared.status).toBe(200);
      expect(cleared.body.description).toBe('');
      const unsigned = await t.request('PATCH', `/v1/domains/${id}`, { body: { signingSecret: null } });
      expect(unsigned.status).toBe(400);
      expect(unsigned.body.details).toEqual(expect.arrayContaining([{ field: 'signingSecret', message: 'must be a string: a signing secret can be replaced, not removed' }]));
      expect((await t.request('GET', `/v1/domains/${id}`)).body.signingSecretSet).toBe(true);
      const { gatewayId, domain } = await fakeGateway(t, platform, other, { inDomain: { domain: created.body.name, domainId: id } });
      const e = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'secret-conv'), headers: { 'idempotency-key': 'secret-conv' } });
      const delivered = await waitFor('queued at the new callback', () => other.of(e.body.conversationId)[0]);
      expect(delivered.verified).toBe(true);

      // A domain with a gateway cannot go; one without can, and is gone.
      expect((await t.request('DELETE', `/v1/domains/${id}`)).status).toBe(409);
      const empty = await t.request('POST', '/v1/domains', { body: { name: `empty-${Date.now()}` } });
      expect((await t.request('DELETE', `/v1/domains/${empty.body.id}`)).status).toBe(204);
      expect((await t.request('GET', `/v1/domains/${empty.body.id}`)).status).toBe(404);
    } finally {
      await other.stop();
    }
  }, 20_000);

  it('takes only Standard Webhooks secrets, and generates one (shown once) when none is given', async () => {
    for (const [bad, why] of [
      ['a-long-passphrase-that-is-no-whsec-secret', 'no prefix'],
      ['whsec_not base64 at all!!!!!!!!!!!!!!!!', 'not base64'],
      ['whsec_' + Buffer.alloc(16, 7).toString('base64'), 'under 24 bytes'],
      ['whsec_' + Buffer.alloc(65, 7).toString('base64'), 'over 64 bytes'],
    ]) {
      const created = await t.request('POST', '/v1/domains', { body: { name: `bad-secret-${Date.now()}`, signingSecret: bad } });
      expect([why, created.status, created.body.details]).toEqual([why, 400, [{ field: 'signingSecret', message: 'must be whsec_ followed by the base64 of 24 to 64 bytes' }]]);
    }
    const created = await t.request('POST', '/v1/domains', { body: { name: `generated-secret-${Date.now()}` } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ signingSecretSet: true, signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) });
    const secret = created.body.signingSecret as string;
    expect((await t.request('GET', `/v1/domains/${created.body.id}`)).text).not.toContain(secret.slice(6));
    const refused = await t.request('PATCH', `/v1/domains/${created.body.id}`, { body: { signingSecret: 'x'.repeat(40) } });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toEqual([{ field: 'signingSecret', message: 'must be whsec_ followed by the base64 of 24 to 64 bytes' }]);

    // What is delivered to the domain verifies, with the generated secret, in the reference library.
    const bot = new BotReceiver(secret);
    await bot.start();
    try {
      await t.request('PATCH', `/v1/domains/${created.body.id}`, { body: { callbackUrl: bot.url } });
      const { gatewayId, domain } = await fakeGateway(t, platform, bot, { name: 'generated', inDomain: { domain: created.body.name, domainId: created.body.id } });
      const e = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'generated-conv'), headers: { 'idempotency-key': 'generated-conv' } });
      const delivered = await waitFor('delivered', () => bot.of(e.body.conversationId)[0]);
      expect(delivered.verified).toBe(true);
    } finally {
      await bot.stop();
    }
  });

  it("rotates a domain's signing secret: the replaced one signs beside the new one until its end", async () => {
    const secretOf = (text: string) => 'whsec_' + Buffer.from(text).toString('base64');
    const [a, b, c] = [secretOf('rotation-secret-a-of-32-bytes!!!'), secretOf('rotation-secret-b-of-32-bytes!!!'), secretOf('rotation-secret-c-of-32-bytes!!!')];
    const bot = new BotReceiver(a);
    await bot.start();
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const created = await t.request('POST', '/v1/domains', { body: { name: `rotation-${Date.now()}`, callbackUrl: bot.url, signingSecret: a } });
      const id = created.body.id as string;
      expect(created.body.previousSigningSecretValidUntil).toBeNull();
      const { gatewayId, domain } = await fakeGateway(t, platform, bot, { name: 'rotation', inDomain: { domain: created.body.name, domainId: id } });
      const e = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'rotation-conv'), headers: { 'idempotency-key': 'rotation-conv' } });
      const conversationId = e.body.conversationId as string;
      const session = await waitFor('platform session', () => platform.sessionFor(e.body.id));
      let said = 0;
      // The next agent message as the bot received it, with the secrets its signatures verify with.
      const next = async (failFirst = false) => {
        const text = `message ${++said}`;
        if (failFirst) bot.failNext(1, conversationId);
        platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text });
        const got = await waitFor(text, () => bot.of(conversationId).find((d) => d.data.text === text));
        const signatures = got.raw.headers['webhook-signature'].split(' ');
        const verifies = [a, b, c].map((secret) => verifiesWith(secret, got.raw));
        return { signatures: signatures.length, a: verifies[0], b: verifies[1], c: verifies[2] };
      };
      expect(await next()).toEqual({ signatures: 1, a: true, b: false, c: false });

      // B replaces A: A keeps signing for the configured 24 h, so a bot still on A accepts what follows.
      const before = Date.now();
      const rotated = await t.request('PATCH', `/v1/domains/${id}`, { body: { signingSecret: b } });
      expect(rotated.status).toBe(200);
      const until = Date.parse(rotated.body.previousSigningSecretValidUntil);
      expect(until).toBeGreaterThanOrEqual(before + 24 * 3_600_000 - 1_000);
      expect(until).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000 + 1_000);
      expect(await next()).toEqual({ signatures: 2, a: true, b: true, c: false });
      // A retried delivery (the callback failed once) goes through a delivery pass, which signs the same way.
      expect(await next(true)).toEqual({ signatures: 2, a: true, b: true, c: false });
      expect(bot.attempts.filter((x) => x.conversationId === conversationId && x.status === 503)).toHaveLength(1);
      // Setting B again changes nothing.
      const again = await t.request('PATCH', `/v1/domains/${id}`, { body: { signingSecret: b } });
      expect(again.body.previousSigningSecretValidUntil).toBe(rotated.body.previousSigningSecretValidUntil);

      // The bot switched: the operator ends A's period now, and only B signs.
      const ended = await t.request('PATCH', `/v1/domains/${id}`, { body: { previousSecretValidHours: 0 } });
      expect(ended.body.previousSigningSecretValidUntil).toBeNull();
      expect(await next()).toEqual({ signatures: 1, a: false, b: true, c: false });

      // C replaces B for an hour; once that hour is over (moved into the past here), B no longer signs.
      const shortFrom = Date.now();
      const short = await t.request('PATCH', `/v1/domains/${id}`, { body: { signingSecret: c, previousSecretValidHours: 1 } });
      const shortUntil = Date.parse(short.body.previousSigningSecretValidUntil);
      expect(shortUntil).toBeGreaterThanOrEqual(shortFrom + 3_600_000 - 1_000);
      expect(shortUntil).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1_000);
      expect(await next()).toEqual({ signatures: 2, a: false, b: true, c: true });
      await db.query(`UPDATE domains SET previous_signing_secret_until = now() - interval '1 second' WHERE id = $1`, [id]);
      expect(await next()).toEqual({ signatures: 1, a: false, b: false, c: true });
      expect((await t.request('GET', `/v1/domains/${id}`)).body.previousSigningSecretValidUntil).toBeNull();
      // An expired secret is not brought back by a new period.
      await t.request('PATCH', `/v1/domains/${id}`, { body: { previousSecretValidHours: 5 } });
      expect(await next()).toEqual({ signatures: 1, a: false, b: false, c: true });

      // Stored sealed, never answered; the period is bounded.
      const stored = await db.query(`SELECT signing_secret, previous_signing_secret FROM domains WHERE id = $1`, [id]);
      for (const secret of [a, b, c]) {
        expect(JSON.stringify(stored.rows[0])).not.toContain(secret.slice(6));
        expect(rotated.text + ended.text + short.text).not.toContain(secret.slice(6));
      }
      for (const bad of [-1, 721, 1.5, 'x']) {
        const refused = await t.request('PATCH', `/v1/domains/${id}`, { body: { signingSecret: a, previousSecretValidHours: bad } });
        expect(refused.status).toBe(400);
        expect(JSON.stringify(refused.body)).toContain('previousSecretValidHours');
      }
      expect(await next()).toEqual({ signatures: 1, a: false, b: false, c: true });
    } finally {
      await db.end();
      await bot.stop();
    }
  }, 40_000);

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

    // One id for an event everywhere: the delivery's body id and webhook-id, the replay and the stream.
    await waitFor('delivered', () => receiver.of(escalation.conversationId).length >= 4);
    const delivered = receiver.of(escalation.conversationId).slice(0, 4);
    expect(delivered.map((d) => d.raw.headers['webhook-id'])).toEqual(delivered.map((d) => d.id));
    expect(mine.map((e) => e.id)).toEqual(delivered.map((d) => d.id));
    expect(replay.body.map((e: { id: string }) => e.id)).toEqual(delivered.slice(2).map((d) => d.id));
    expect(delivered[0].id).toMatch(/^evt_\d+$/);

    // Resume: a client that saw the agent_joined event (here: was delivered it) gets only what followed.
    const resumed = await collect(`${t.url}/v1/events/stream?domain=${domain}`, delivered[2].id, (events) => events.length >= 1);
    expect(resumed.map((e) => e.type)).toEqual(['agent_message']);
  }, 20_000);

  it('refuses a stream start that is not an event id, naming the header or parameter', async () => {
    const header = await t.request('GET', '/v1/events/stream', { headers: { 'last-event-id': '9' } });
    expect(header.status).toBe(400);
    expect(header.body.details).toEqual([{ field: 'Last-Event-ID', message: 'must be an event id (evt_<n>)' }]);
    const query = await t.request('GET', '/v1/events/stream?after=abc');
    expect(query.status).toBe(400);
    expect(query.body.details).toEqual([{ field: 'after', message: 'must be an event id (evt_<n>)' }]);
  });

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

  it('counts a list up to 10,000 escalations and says when more match', async () => {
    const { domain, domainId, gatewayId } = await fakeGateway(t, platform, receiver);
    // Created a second apart back from one base time that the test holds, so that the window below is exact.
    const newest = new Date(Date.now() - 3_600_000);
    await withDatabase(async (db) => {
      const { rows } = await db.query<{ id: string }>(`INSERT INTO conversations (domain_id, external_id, channel) VALUES ($1, 'many', 'web') RETURNING id`, [domainId]);
      // 10,001 ended escalations of one conversation, a second apart, the newest an hour ago.
      await db.query(
        `INSERT INTO escalations (conversation_id, domain_id, gateway_id, state, request_hash, requested_by, timeout_at, created_at, ended_at)
         SELECT $1, $2, $3, 'ended', 'h', 'test', now(), $4::timestamptz - g * interval '1 second', $4::timestamptz
           FROM generate_series(1, 10001) g`,
        [rows[0].id, domainId, gatewayId, newest],
      );
    });
    const all = await t.request('GET', `/v1/escalations?domain=${domain}&pageSize=5`);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 10_000, totalCapped: true, page: 1, pageSize: 5 });
    expect(all.body.items).toHaveLength(5);
    // Paging goes on past the count.
    const far = await t.request('GET', `/v1/escalations?domain=${domain}&pageSize=5&page=2001`);
    expect(far.body.items).toHaveLength(1);
    // A narrower filter is counted exactly.
    const from = new Date(newest.getTime() - 10_500).toISOString();
    const recent = await t.request('GET', `/v1/escalations?domain=${domain}&from=${encodeURIComponent(from)}`);
    expect(recent.body).toMatchObject({ total: 10, totalCapped: false });
  }, 20_000);
});

/** Follows the stream from `lastEventId` until `enough` of the events are in, then closes it. */
async function collect(url: string, lastEventId: string, enough: (events: { type: string }[]) => boolean): Promise<{ type: string }[]> {
  const out: { type: string }[] = [];
  const controller = new AbortController();
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
      if (enough(out)) break;
    }
  } finally {
    controller.abort();
  }
  return out;
}
