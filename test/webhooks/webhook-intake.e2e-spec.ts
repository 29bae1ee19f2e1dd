import { Client } from 'pg';

import { TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from '../escalations/fake-setup';

/**
 * The webhook route is served ahead of Nest's router (src/webhooks/webhook-intake.route.ts); what the rest of the API
 * gets from Nest (error bodies, correlation ids, metrics, body limits) it must give too. Signatures and storage are
 * covered per gateway type (eight-by-eight, escalation flow); these are the route's own answers.
 */
describe('webhook intake route', () => {
  const suite = fakeSuite({});
  const { platform, receiver } = suite;
  let t: TestApp;
  let db: Client;
  let gatewayId: string;

  beforeAll(async () => {
    t = suite.t;
    ({ gatewayId } = await fakeGateway(t, platform, receiver));
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(() => db.end());

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (res) => ({
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as Record<string, any>,
    }));
  const storedRows = async () => (await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks`)).rows[0].n as number;

  it('names the path parameter when the gateway id is not a UUID', async () => {
    const res = await post('/v1/webhooks/not-a-uuid', '{}', { 'x-correlation-id': 'wh-trace-1' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'validation_failed', details: [{ field: 'gatewayId', message: 'must be a UUID' }], correlationId: 'wh-trace-1' });
    expect(res.headers.get('x-correlation-id')).toBe('wh-trace-1');
  });

  it('answers 404 for a gateway that does not exist, in the common error body', async () => {
    const res = await post('/v1/webhooks/00000000-0000-4000-8000-000000000000', '{}');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, code: 'not_found', correlationId: expect.any(String) });
  });

  it('refuses an empty body and a body over 1 MiB, and stores neither', async () => {
    const before = await storedRows();
    const empty = await post(`/v1/webhooks/${gatewayId}`, '');
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ code: 'validation_failed', details: [{ field: 'body', message: 'is empty' }] });
    const big = await post(`/v1/webhooks/${gatewayId}`, Buffer.alloc(1024 * 1024 + 1, 0x20));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ statusCode: 413, code: 'payload_too_large' });
    expect(await storedRows()).toBe(before);
  });

  it("passes the gateway type's refusal on as a 4xx naming the body, and counts every answer under the route in the metrics", async () => {
    const before = await storedRows();
    const refused = await post(`/v1/webhooks/${gatewayId}`, '{"sessionId": "s"');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ statusCode: 400, code: 'validation_failed', details: [{ field: 'body', message: expect.stringContaining('not a fake platform event') }] });
    expect(await storedRows()).toBe(before);
    const metrics = await t.request('GET', '/metrics');
    for (const status of ['400', '404', '413']) {
      expect(metrics.text).toMatch(new RegExp(`chat_gateway_http_request_duration_seconds_count\\{method="POST",route="/v1/webhooks/:gatewayId",status="${status}"\\} [1-9]`));
    }
  });

  it('refuses a platform conversation id that cannot be stored, naming the body, and stores nothing', async () => {
    const before = await storedRows();
    const event = (eventId: string, sessionId: string) => JSON.stringify({ eventId, sessionId, event: { index: 1, type: 'agent_message', data: { text: 'x' }, at: Date.now() } });
    const refused: [string, string][] = [
      [event('ids-1', 'é'.repeat(1_000) + 's'), "the platform's conversation id is longer than 2000 bytes"],
      [event('ids-2', 'session-\u0000'), "the platform's conversation id has a NUL character or an unpaired UTF-16 surrogate"],
      [event('ids-3', 'session-\uD800'), "the platform's conversation id has a NUL character or an unpaired UTF-16 surrogate"],
    ];
    for (const [body, message] of refused) {
      const res = await post(`/v1/webhooks/${gatewayId}`, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'validation_failed', details: [{ field: 'body', message }] });
    }
    expect(await storedRows()).toBe(before);
    const longest = await post(`/v1/webhooks/${gatewayId}`, event('ids-4', 'é'.repeat(1_000)));
    expect(longest.status).toBe(200);
    expect(await storedRows()).toBe(before + 1);
  });

  it('stores a platform event id over 512 characters as its digest, and still knows it when it comes again', async () => {
    const eventId = `long-${'e'.repeat(600)}`;
    const body = JSON.stringify({ eventId, sessionId: 'session-long-id', event: { index: 1, type: 'agent_message', data: { text: 'x' }, at: Date.now() } });
    const first = await post(`/v1/webhooks/${gatewayId}`, body);
    expect(first).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    const again = await post(`/v1/webhooks/${gatewayId}`, body);
    expect(again).toMatchObject({ status: 200, body: { received: true, duplicate: true } });
    const { rows } = await db.query(`SELECT event_id, convert_from(body, 'UTF8')::jsonb->>'eventId' AS original FROM inbound_webhooks WHERE platform_conversation_id = 'session-long-id'`);
    expect(rows).toEqual([{ event_id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), original: eventId }]);
  });

  it('deletes a gateway with its stored deliveries, and refuses to delete one that has escalations', async () => {
    const { gatewayId: doomed } = await fakeGateway(t, platform, receiver, { name: 'doomed' });
    const event = JSON.stringify({ eventId: 'doomed-1', sessionId: 'no-such-session', event: { index: 1, type: 'agent_message', data: { text: 'x' }, at: Date.now() } });
    expect((await post(`/v1/webhooks/${doomed}`, event)).status).toBe(200);
    expect((await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1`, [doomed])).rows[0].n).toBe(1);
    expect((await t.request('DELETE', `/v1/gateways/${doomed}`)).status).toBe(204);
    expect((await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1`, [doomed])).rows[0].n).toBe(0);

    const { gatewayId: used, domain } = await fakeGateway(t, platform, receiver, { name: 'used' });
    const started = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, used, 'keeps-its-gateway'), headers: { 'idempotency-key': 'keeps-its-gateway' } });
    expect(started.status).toBe(202);
    const refused = await t.request('DELETE', `/v1/gateways/${used}`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('The gateway has escalations (open or ended); undeploy it instead of deleting it');
    expect((await t.request('GET', `/v1/gateways/${used}`)).status).toBe(200);
  });
});
