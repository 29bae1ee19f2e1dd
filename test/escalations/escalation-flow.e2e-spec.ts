import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { waitFor } from '../support/bot-receiver';
import { TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from './fake-setup';

describe('escalation through the fake gateway', () => {
  const suite = fakeSuite({ POLL_TICK_MS: '100' });
  const { platform, receiver } = suite;
  let t: TestApp;
  beforeAll(() => (t = suite.t));

  const start = async (domain: string, gatewayId: string, externalId: string, key = externalId) => {
    const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, externalId), headers: { 'idempotency-key': key } });
    expect(res.status).toBe(202);
    return res.body;
  };
  const types = (conversationId: string) => receiver.of(conversationId).map((d) => d.type);

  it('hands over, relays both ways in order, enforces control, and hands back to the bot when the agent closes', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver, { transferBack: true });
    const escalation = await start(domain, gatewayId, 'conv-flow');
    // Sent at once, before the platform session exists: it must wait and then go, in order.
    const early = await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'are you there?' } });
    expect(early.status).toBe(202);
    await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'second', attachments: [{ name: 'a.txt', mimeType: 'text/plain', contentBase64: Buffer.from('hello file').toString('base64') }] } });

    const session = await waitFor('platform session', () => platform.sessionFor(escalation.id));
    expect(session.request).toMatchObject({ attributes: { Intent: 'balance' }, user: { firstName: 'Ada' } });
    expect((session.request.history as unknown[]).length).toBe(2);
    await waitFor('both messages on the platform', () => session.received.filter((r) => r.kind === 'message').length === 2);
    const messages = session.received.filter((r) => r.kind === 'message');
    expect(messages.map((m) => m.body.text)).toEqual(['are you there?', 'second']);
    expect(Buffer.from((messages[1].body.attachments as { base64: string }[])[0].base64, 'base64').toString()).toBe('hello file');

    // A bot reply is fine while the bot has control...
    const botBefore = await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { author: 'bot', text: 'still here' } });
    expect(botBefore.status).toBe(202);

    platform.push(session.id, 'agent_joined', { agent: { id: 'a-1', name: 'Grace' } });
    await waitFor('agent joined at the bot', () => types(escalation.conversationId).includes('agent_joined'));
    const conversation = await t.request('GET', `/v1/conversations/${escalation.conversationId}`);
    expect(conversation.body.control).toBe('agent');

    // ...and refused, with nothing sent, once an agent took over.
    const sentBefore = session.received.length;
    const botAfter = await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { author: 'bot', text: 'I can help too' } });
    expect(botAfter.status).toBe(409);
    expect(botAfter.body.code).toBe('control_conflict');

    platform.push(session.id, 'agent_typing_started', { agent: { id: 'a-1', name: 'Grace' } });
    platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'Hello Ada' });
    platform.push(session.id, 'attachment', { attachment: { name: 'statement.pdf', mimeType: 'application/pdf', base64: Buffer.from('%PDF-1.4').toString('base64') } });
    await t.request('POST', `/v1/escalations/${escalation.id}/typing`, { body: { state: 'started' } });
    await waitFor('typing relayed', () => session.received.some((r) => r.kind === 'typing'));
    expect(session.received.slice(sentBefore).some((r) => r.body.text === 'I can help too')).toBe(false);
    platform.push(session.id, 'ended', { by: 'agent' });

    await waitFor('ended at the bot', () => types(escalation.conversationId).includes('ended'));
    const delivered = receiver.of(escalation.conversationId);
    expect(delivered.every((d) => d.verified)).toBe(true);
    expect(delivered.map((d) => d.seq)).toEqual(delivered.map((_, i) => i + 1));
    expect(types(escalation.conversationId)).toEqual(['queued', 'queued', 'agent_joined', 'agent_typing_started', 'agent_message', 'attachment', 'ended']);
    expect(delivered.find((d) => d.type === 'agent_joined')!.data.agent).toEqual({ id: 'a-1', displayName: 'Grace' });
    const ended = delivered.find((d) => d.type === 'ended')!;
    expect(ended.data).toMatchObject({ by: 'agent', controlReturnedToBot: true, conversationClosed: false });

    const file = delivered.find((d) => d.type === 'attachment')!.data.attachment;
    const download = await fetch(`${t.url}${file.url}`, { headers: { authorization: `Bearer ${process.env.BOOTSTRAP_API_KEY}` } });
    expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('%PDF-1.4');

    const detail = await t.request('GET', `/v1/escalations/${escalation.id}`);
    expect(detail.body.state).toBe('ended');
    expect(detail.body.control).toBe('bot');
    expect(detail.body.transitions.map((x: { to: string }) => x.to)).toEqual(['requested', 'starting', 'queued', 'queued', 'active', 'ended']);
    expect(detail.body.relay.map((r: { status: string }) => r.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect((await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'late' } })).status).toBe(409);
  }, 30_000);

  it("fetches a user's attachment link under the outbound policy: a redirect to a file is followed, one to a denied address is not", async () => {
    const served: string[] = [];
    const files = createServer((req, res) => {
      served.push(req.url!);
      if (req.url === '/doc') return void res.writeHead(302, { location: '/doc.txt' }).end();
      if (req.url === '/doc.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('linked file');
      // 0.0.0.0 connects to this machine; the server listens on every interface, so a request that went would be answered.
      if (req.url === '/sneaky') return void res.writeHead(302, { location: `http://0.0.0.0:${(files.address() as AddressInfo).port}/secret` }).end();
      res.writeHead(200).end('what the link must not reach');
    });
    await new Promise<void>((resolve) => files.listen(0, '0.0.0.0', resolve));
    try {
      const base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
      const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
      const escalation = await start(domain, gatewayId, 'conv-links');
      const session = await waitFor('platform session', () => platform.sessionFor(escalation.id));
      const send = (name: string, path: string, text: string) =>
        t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text, attachments: [{ name, mimeType: 'text/plain', url: `${base}${path}` }] } });
      expect((await send('doc.txt', '/doc', 'linked')).status).toBe(202);
      expect((await send('secret.txt', '/sneaky', 'sneaky')).status).toBe(202);
      expect((await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'after' } })).status).toBe(202);

      await waitFor('the message after', () => session.received.some((r) => r.kind === 'message' && r.body.text === 'after'));
      const messages = session.received.filter((r) => r.kind === 'message');
      expect(messages.map((m) => m.body.text)).toEqual(['linked', 'after']);
      expect(Buffer.from((messages[0].body.attachments as { base64: string }[])[0].base64, 'base64').toString()).toBe('linked file');
      expect(served).toEqual(['/doc', '/doc.txt', '/sneaky']);
      const relay = (await t.request('GET', `/v1/escalations/${escalation.id}`)).body.relay as { status: string; lastError: string | null; payload: { text?: string } }[];
      expect(relay.find((r) => r.payload.text === 'sneaky')).toMatchObject({ status: 'failed', lastError: 'invalid_request: attachment url redirect target points at a link-local or reserved address' });
    } finally {
      files.closeAllConnections();
      await new Promise((resolve) => files.close(resolve));
    }
  });

  it('serves every stored file as a download, whatever its name and type, and refuses a type that is no media type', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const escalation = await start(domain, gatewayId, 'conv-files');
    const session = await waitFor('platform session', () => platform.sessionFor(escalation.id));
    const name = '“Q3” résumé 😀.html';
    platform.push(session.id, 'attachment', { attachment: { name, mimeType: 'text/html', base64: Buffer.from('<script>alert(1)</script>').toString('base64') } });
    const bad = await t.request('POST', `/v1/escalations/${escalation.id}/messages`, {
      body: { text: 'x', attachments: [{ name: 'a.txt', mimeType: 'text/plain\r\nset-cookie: a=1', contentBase64: 'aGk=' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ field: 'attachments.0.mimeType', message: 'must be a media type (type/subtype, optional ; parameters)' }]);

    const delivered = await waitFor('the file at the bot', () => receiver.of(escalation.conversationId).find((d) => d.type === 'attachment'));
    const res = await fetch(`${t.url}${delivered.data.attachment.url}`, { headers: { authorization: `Bearer ${process.env.BOOTSTRAP_API_KEY}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<script>alert(1)</script>');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="_Q3_ r_sum_ __.html"; filename*=UTF-8''${encodeURIComponent(name).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });

  it('closes the conversation when the agent closes and transfer back is off', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver, { transferBack: false });
    const escalation = await start(domain, gatewayId, 'conv-close');
    const session = await waitFor('platform session', () => platform.sessionFor(escalation.id));
    platform.push(session.id, 'agent_joined', { agent: { id: 'a-2', name: 'Alan' } });
    platform.push(session.id, 'ended', { by: 'agent' });
    await waitFor('ended at the bot', () => types(escalation.conversationId).includes('ended'));
    const ended = receiver.of(escalation.conversationId).find((d) => d.type === 'ended')!;
    expect(ended.data).toMatchObject({ by: 'agent', controlReturnedToBot: false, conversationClosed: true });
    const conversation = await t.request('GET', `/v1/conversations/${escalation.conversationId}`);
    expect(conversation.body.closedAt).not.toBeNull();
  }, 20_000);

  it('returns the same escalation for a repeated Idempotency-Key and 409 for another body under it', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const first = await start(domain, gatewayId, 'conv-idem', 'key-1');
    const again = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-idem'), headers: { 'idempotency-key': 'key-1' } });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.id);
    const other = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-other'), headers: { 'idempotency-key': 'key-1' } });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_conflict');
    const missing = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'conv-nokey') });
    expect(missing.status).toBe(400);
    expect(missing.body.details[0].field).toBe('Idempotency-Key');
  });

  it('retries a failing start with the API Retry backoff until it succeeds', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    platform.addFault({ operation: 'start', kind: 'transient', count: 2 });
    const escalation = await start(domain, gatewayId, 'conv-retry');
    await waitFor('platform session', () => platform.sessionFor(escalation.id), 15_000);
    const detail = await waitFor('queued', async () => {
      const d = await t.request('GET', `/v1/escalations/${escalation.id}`);
      return d.body.state === 'queued' ? d.body : null;
    });
    expect(detail.startAttempts).toBe(3);
    expect(detail.transitions.filter((x: { to: string }) => x.to === 'requested').length).toBe(3);
  }, 20_000);

  it('fails without retrying when the platform refuses the credentials', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    platform.addFault({ operation: 'start', kind: 'auth', count: 1 });
    const escalation = await start(domain, gatewayId, 'conv-auth');
    await waitFor('failed at the bot', () => types(escalation.conversationId).includes('failed'));
    const detail = await t.request('GET', `/v1/escalations/${escalation.id}`);
    expect(detail.body.state).toBe('failed');
    expect(detail.body.failureReason).toMatch(/^auth_failed/);
    expect(detail.body.startAttempts).toBe(1);
  }, 15_000);

  /** The platform names its next session `name(uuid)`; the sessions after it get plain ids again. */
  const nameNextSession = (name: (id: string) => string) => {
    platform.newSessionId = () => {
      platform.newSessionId = randomUUID;
      return name(randomUUID());
    };
  };
  const sessionsOf = (escalationId: string) => [...platform.sessions.values()].filter((s) => s.escalationId === escalationId);

  it('fails, and closes the chat on the platform, when the platform names its session with an id that cannot be stored', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    // Longer than an index row of the escalations can hold.
    nameNextSession((id) => `${id}-${'x'.repeat(3_000)}`);
    const escalation = await start(domain, gatewayId, 'conv-long-session');
    const failed = await waitFor('failed at the bot', () => receiver.of(escalation.conversationId).find((d) => d.type === 'failed'));
    expect(failed.data.reason).toBe("invalid_response: the platform's conversation id is longer than 2000 bytes");
    const detail = await t.request('GET', `/v1/escalations/${escalation.id}`);
    expect(detail.body).toMatchObject({ state: 'failed', startAttempts: 1 });
    const [session] = sessionsOf(escalation.id);
    expect(session.received.map((r) => r.kind)).toEqual(['end']);
    expect(sessionsOf(escalation.id)).toHaveLength(1);
  }, 15_000);

  it('closes the chat on the platform when its session could not be recorded, and starts again', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    // The database refuses to record the first session (a trigger stands in for an outage at that moment).
    await db.query(`CREATE FUNCTION test_refuse_session() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.platform_conversation_id LIKE 'refused-%' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER test_refuse_session BEFORE UPDATE ON escalations FOR EACH ROW EXECUTE FUNCTION test_refuse_session()`);
    try {
      nameNextSession((id) => `refused-${id}`);
      const escalation = await start(domain, gatewayId, 'conv-unrecorded-session');
      const detail = await waitFor('queued', async () => {
        const d = await t.request('GET', `/v1/escalations/${escalation.id}`);
        return d.body.state === 'queued' ? d.body : null;
      }, 10_000);
      expect(detail.startAttempts).toBe(2);
      const [refused, opened] = sessionsOf(escalation.id);
      expect(refused.id).toMatch(/^refused-/);
      expect(refused.received.map((r) => r.kind)).toEqual(['end']);
      expect(opened.received).toEqual([]);
      expect(opened.ended).toBe(false);
      expect(sessionsOf(escalation.id)).toHaveLength(2);
    } finally {
      await db.query(`DROP TRIGGER test_refuse_session ON escalations`);
      await db.query(`DROP FUNCTION test_refuse_session()`);
      await db.end();
    }
  }, 20_000);

  it('times out when no agent joins in time and tells the bot', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver, { timeoutSeconds: 2 });
    const escalation = await start(domain, gatewayId, 'conv-timeout');
    const session = await waitFor('platform session', () => platform.sessionFor(escalation.id));
    await waitFor('timed out at the bot', () => receiver.of(escalation.conversationId).find((d) => d.type === 'ended' && d.data.by === 'timeout'), 10_000);
    const detail = await t.request('GET', `/v1/escalations/${escalation.id}`);
    expect(detail.body.state).toBe('timed_out');
    expect(session.received.some((r) => r.kind === 'end')).toBe(true);
  }, 15_000);

  it('holds a failing callback for that conversation only and delivers everything in order once it recovers', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const a = await start(domain, gatewayId, 'conv-held');
    const sessionA = await waitFor('session a', () => platform.sessionFor(a.id));
    // Both queued events (ours and the platform's) are delivered before the callback starts failing.
    await waitFor('a queued', () => receiver.of(a.conversationId).length >= 2);
    receiver.failNext(2, a.conversationId);
    platform.push(sessionA.id, 'agent_joined', { agent: { id: 'x', name: 'X' } });
    platform.push(sessionA.id, 'agent_message', { text: 'one' });
    const b = await start(domain, gatewayId, 'conv-free');
    await waitFor('b delivered while a is held', () => receiver.of(b.conversationId).length >= 1);
    await waitFor('a recovered', () => receiver.of(a.conversationId).some((d) => d.type === 'agent_message'), 15_000);
    const seqs = receiver.of(a.conversationId).map((d) => d.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    const failed = receiver.attempts.filter((x) => x.conversationId === a.conversationId && x.status === 503);
    expect(failed.length).toBe(2);
    const events = await t.request('GET', `/v1/conversations/${a.conversationId}/events?after=1`);
    expect(events.body[0].seq).toBe(2);
    expect(events.body.find((e: { type: string }) => e.type === 'agent_joined').deliveryAttempts).toBe(3);
    // Every delivered event is recorded as such, with its attempts (successes are recorded per drained batch).
    const recorded = await waitFor('deliveries recorded', async () => {
      const all = (await t.request('GET', `/v1/conversations/${a.conversationId}/events`)).body as { type: string; deliveryStatus: string; deliveryAttempts: number }[];
      return all.length === receiver.of(a.conversationId).length && all.every((e) => e.deliveryStatus === 'delivered') ? all : null;
    });
    expect(recorded.map((e) => e.deliveryAttempts)).toEqual(recorded.map((e) => (e.type === 'agent_joined' ? 3 : 1)));
  }, 30_000);

  it("reports each domain's delivery backlog and the callbacks' outcomes in /metrics", async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const a = await start(domain, gatewayId, 'conv-metrics');
    const session = await waitFor('session', () => platform.sessionFor(a.id));
    await waitFor('a queued', () => receiver.of(a.conversationId).length >= 2);
    // The callback sees an event before the service records it delivered: wait for the record.
    await waitFor('a queued, recorded', async () => {
      const all = (await t.request('GET', `/v1/conversations/${a.conversationId}/events`)).body as { deliveryStatus: string }[];
      return all.length >= 2 && all.every((e) => e.deliveryStatus === 'delivered');
    });
    const scrape = async () => (await t.request('GET', '/metrics')).text;
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const ofDomain = (name: string) => `${name}{domain="${domain}"}`;
    const refused = (text: string) => value(text, 'chat_gateway_callback_requests_total{outcome="refused"}') ?? 0;
    const before = await scrape();
    expect(value(before, ofDomain('chat_gateway_undelivered_events'))).toBe(0);
    expect(value(before, 'chat_gateway_callback_requests_total{outcome="delivered"}')).toBeGreaterThanOrEqual(2);

    receiver.failNext(2, a.conversationId);
    platform.push(session.id, 'agent_message', { text: 'held' });
    const held = await waitFor('waiting for a retry', async () => {
      const text = await scrape();
      return value(text, ofDomain('chat_gateway_conversations_awaiting_delivery_retry')) === 1 ? text : null;
    });
    expect(value(held, ofDomain('chat_gateway_undelivered_events'))).toBe(1);
    expect(value(held, ofDomain('chat_gateway_oldest_undelivered_event_age_seconds'))).toBeGreaterThan(0);
    expect(refused(held)).toBeGreaterThan(refused(before));

    await waitFor('delivered after the backoff', () => receiver.of(a.conversationId).some((d) => d.type === 'agent_message'), 10_000);
    const after = await waitFor('backlog gone', async () => {
      const text = await scrape();
      return value(text, ofDomain('chat_gateway_undelivered_events')) === 0 ? text : null;
    });
    expect(value(after, ofDomain('chat_gateway_conversations_awaiting_delivery_retry'))).toBe(0);
    expect(value(after, ofDomain('chat_gateway_oldest_undelivered_event_age_seconds'))).toBe(0);
    expect(refused(after)).toBe(refused(before) + 2);
  }, 20_000);

  it('lets the user end before an agent joins, and the bot steal an active conversation', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const a = await start(domain, gatewayId, 'conv-user-end');
    const sessionA = await waitFor('session', () => platform.sessionFor(a.id));
    await waitFor('queued', async () => (await t.request('GET', `/v1/escalations/${a.id}`)).body.state === 'queued');
    expect((await t.request('POST', `/v1/escalations/${a.id}/end`, { body: {} })).status).toBe(202);
    await waitFor('ended by user', () => receiver.of(a.conversationId).find((d) => d.type === 'ended' && d.data.by === 'user'));
    expect(sessionA.received.some((r) => r.kind === 'end')).toBe(true);

    const b = await start(domain, gatewayId, 'conv-steal');
    const sessionB = await waitFor('session', () => platform.sessionFor(b.id));
    platform.push(sessionB.id, 'agent_joined', { agent: { id: 'z', name: 'Z' } });
    await waitFor('active', async () => (await t.request('GET', `/v1/escalations/${b.id}`)).body.state === 'active');
    const stolen = await t.request('POST', `/v1/escalations/${b.id}/steal`, { body: { reason: 'customer asked the bot' } });
    expect(stolen.status).toBe(200);
    expect(stolen.body).toMatchObject({ state: 'ended', control: 'bot' });
    expect(sessionB.received.some((r) => r.kind === 'end')).toBe(true);
  }, 20_000);

  it('transfers a waiting conversation to another queue', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const a = await start(domain, gatewayId, 'conv-transfer');
    const session = await waitFor('session', () => platform.sessionFor(a.id));
    expect((await t.request('POST', `/v1/escalations/${a.id}/transfer`, { body: { queue: 'billing' } })).status).toBe(202);
    await waitFor('moved on the platform', () => session.queue === 'billing');
    await waitFor('queue recorded', async () => (await t.request('GET', `/v1/escalations/${a.id}`)).body.queue === 'billing');
  }, 15_000);

  it('names the agent per the Agent Override setting: hidden, or looked up by e-mail in the domain directory', async () => {
    const hidden = await fakeGateway(t, platform, receiver, { agentOverride: 'none' });
    const a = await start(hidden.domain, hidden.gatewayId, 'conv-override-none');
    const sessionA = await waitFor('session', () => platform.sessionFor(a.id));
    platform.push(sessionA.id, 'agent_joined', { agent: { id: 'g', name: 'Grace Hopper', email: 'grace@example.com' } });

    const lookup = await fakeGateway(t, platform, receiver, { agentOverride: 'lookup_agent_by_email' });
    expect((await t.request('PUT', `/v1/domains/${lookup.domainId}/agents`, { body: { email: 'Grace@Example.com', displayName: 'Grace (Tier 2)' } })).status).toBe(204);
    const b = await start(lookup.domain, lookup.gatewayId, 'conv-override-lookup');
    const sessionB = await waitFor('session', () => platform.sessionFor(b.id));
    platform.push(sessionB.id, 'agent_joined', { agent: { id: 'g', name: 'Grace Hopper', email: 'grace@example.com' } });
    platform.push(sessionB.id, 'agent_message', { agent: { id: 'h', name: 'Unlisted', email: 'nobody@example.com' }, text: 'hi' });

    const joinedA = await waitFor('joined a', () => receiver.of(a.conversationId).find((d) => d.type === 'agent_joined'));
    expect(joinedA.data.agent).toEqual({ id: 'g', displayName: null });
    const joinedB = await waitFor('joined b', () => receiver.of(b.conversationId).find((d) => d.type === 'agent_joined'));
    expect(joinedB.data.agent).toMatchObject({ displayName: 'Grace (Tier 2)', directoryMatch: true });
    const message = await waitFor('message b', () => receiver.of(b.conversationId).find((d) => d.type === 'agent_message'));
    expect(message.data.agent).toMatchObject({ displayName: 'Unlisted', directoryMatch: false });
  }, 20_000);

  it('delivered every event as the OpenAPI document describes it (DeliveredEvent, closed to undocumented fields)', () => {
    expect(new Set(receiver.deliveries.map((d) => d.type)).size).toBeGreaterThanOrEqual(5);
    expect(receiver.undocumented).toEqual([]);
  });
});
