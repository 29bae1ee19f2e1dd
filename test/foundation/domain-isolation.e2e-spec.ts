import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { conversationOf, fakeChannel, userSays } from '../channels/channel-setup';
import { randomUUID } from 'node:crypto';
import { waitFor } from '../support/bot-receiver';
import { ADMIN_KEY, TestApp, TestResponse, withDatabase } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from '../escalations/fake-setup';

type Operation = { 'x-public'?: boolean; requestBody?: unknown };

/** One domain's resources, each named as the path parameters of the document name them. */
interface Resources {
  domain: string;
  domainId: string;
  gatewayId: string;
  escalationId: string;
  conversationId: string;
  attachmentId: string;
  accountId: string;
  keyId: string;
  email: string;
  sessionId: string;
  /** A channel conversation of the domain (the fake channel) and a bot message in it. */
  channelConversationId: string;
  messageId: string;
  channelGatewayId: string;
}

/** A valid body for each operation that takes one, so that a refusal is about the resource, not the body. */
const BODIES: Record<string, (r: Resources) => unknown> = {
  'POST /v1/escalations/{id}/messages': () => ({ text: 'hello from the other tenant' }),
  'POST /v1/conversations/{id}/messages': () => ({ text: 'hello from the other tenant' }),
  'POST /v1/conversations/{id}/typing': () => ({}),
  'POST /v1/escalations/{id}/typing': () => ({ state: 'started' }),
  'POST /v1/escalations/{id}/end': () => ({ reason: 'isolation' }),
  'POST /v1/escalations/{id}/transfer': () => ({ queue: 'billing' }),
  'POST /v1/escalations/{id}/steal': () => ({ reason: 'isolation' }),
  'PATCH /v1/domains/{id}': () => ({ description: 'changed by the other tenant' }),
  'PUT /v1/domains/{id}/agents': (r) => ({ email: r.email, displayName: 'Changed' }),
  'PATCH /v1/gateways/{id}': () => ({ settings: { basic: { apiToken: 'changed-by-the-other-tenant' } } }),
  'POST /v1/accounts/{id}/keys': () => ({ label: 'isolation' }),
  'PUT /v1/gateways/{id}/opt-outs/{userId}': () => ({ note: 'put by the other tenant' }),
  'PATCH /v1/accounts/{id}': () => ({ description: 'changed by the other tenant' }),
};

/** The resource a path parameter names, by the collection the path starts with. */
function pathFor(template: string, r: Resources): string | { missing: string } {
  const collection = template.split('/')[2];
  // The bot's messages are about channel conversations.
  const channelPath = /^\/v1\/conversations\/\{id\}\/(messages|typing)/.test(template);
  const byCollection: Record<string, Record<string, string>> = {
    escalations: { id: r.escalationId, attachmentId: r.attachmentId },
    conversations: { id: r.conversationId, seq: '1' },
    domains: { id: r.domainId, email: r.email },
    gateways: { id: r.gatewayId, userId: '+34600000001' },
    accounts: { id: r.accountId, keyId: r.keyId },
    ...(channelPath ? { conversations: { id: r.channelConversationId, messageId: r.messageId } } : {}),
  };
  let missing: string | undefined;
  const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = byCollection[collection]?.[name];
    if (value === undefined) missing = `{${name}} of /v1/${collection}`;
    return value ?? '';
  });
  return missing ? { missing } : path;
}

/** An answer as a caller sees it, with the ids it echoes replaced, so that two answers can be compared. */
function shape(res: TestResponse, ids: string[]): unknown {
  let text = res.text;
  for (const id of ids) text = text.split(id).join('<id>');
  const body = text ? JSON.parse(text) : undefined;
  return { status: res.status, code: body?.code, message: body?.message, details: body?.details };
}

/**
 * A key scoped to domain A, holding every authority, walks every operation of the OpenAPI document against domain
 * B's resources: each answers as for an id that does not exist and changes nothing; lists hold A's only; the stream
 * carries A's events only. The same key still works on A's resources. A new operation fails the walk until it says
 * what it expects.
 */
describe('a key scoped to a domain sees and acts on that domain only', () => {
  const suite = fakeSuite({});
  const { platform, receiver } = suite;
  const channel = new FakeChannelPlatform();
  beforeAll(() => channel.start());
  afterAll(() => channel.stop());
  let t: TestApp;
  let a: Resources;
  let b: Resources;
  let keyA: string;
  let serviceAccountId: string;

  async function tenant(letter: string): Promise<Resources> {
    const { domain, domainId, gatewayId } = await fakeGateway(t, platform, receiver);
    const email = `agent-${letter}@example.com`;
    expect((await t.request('PUT', `/v1/domains/${domainId}/agents`, { body: { email, displayName: `Agent ${letter}` } })).status).toBe(204);
    const created = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, `isolation-${letter}`), headers: { 'idempotency-key': `isolation-${letter}` } });
    expect(created.status).toBe(202);
    const session = await waitFor('platform session', () => platform.sessionFor(created.body.id));
    platform.push(session.id, 'agent_joined', { agent: { id: `agent-${letter}`, name: `Agent ${letter}` } });
    platform.push(session.id, 'attachment', { attachment: { name: `${letter}.pdf`, mimeType: 'application/pdf', base64: Buffer.from('%PDF-1.4').toString('base64') } });
    await waitFor('the file delivered', () => receiver.of(created.body.conversationId).some((d) => d.type === 'attachment'));
    const detail = await t.request('GET', `/v1/escalations/${created.body.id}`);
    const file = detail.body.transcript.find((e: { type: string }) => e.type === 'attachment');
    const attachmentId = /\/attachments\/([^/]+)$/.exec(file.data.attachment.url)![1];
    const { gatewayId: channelGatewayId } = await fakeChannel(t, channel, receiver, { inDomain: domain });
    await userSays(t, channel, channelGatewayId, [{ id: `isolation-${letter}`, conversationId: `isolation-${letter}`, text: 'hi' }]);
    const channelConversationId = await conversationOf(receiver, `isolation-${letter}`);
    const message = await t.request('POST', `/v1/conversations/${channelConversationId}/messages`, { body: { text: 'hello' } });
    expect(message.status).toBe(202);
    return {
      domain,
      domainId,
      gatewayId,
      escalationId: created.body.id,
      conversationId: created.body.conversationId,
      attachmentId,
      accountId: '',
      keyId: '',
      email,
      sessionId: session.id,
      channelConversationId,
      messageId: message.body.id,
      channelGatewayId,
    };
  }

  beforeAll(async () => {
    t = suite.t;
    a = await tenant('a');
    b = await tenant('b');
    const scopedA = await t.request('POST', '/v1/accounts', { body: { name: 'tenant-a', role: 'Global Gateway Service', domains: [a.domain] } });
    expect(scopedA.status).toBe(201);
    expect(scopedA.body.domains).toEqual([a.domain]);
    keyA = scopedA.body.apiKey.key;
    // B's account is the admin's; A's second account is made by A's own key.
    const accountB = await t.request('POST', '/v1/accounts', { body: { name: 'tenant-b', role: 'Integrator', domains: [b.domain] } });
    expect(accountB.status).toBe(201);
    b.accountId = accountB.body.id;
    b.keyId = (await t.request('POST', `/v1/accounts/${b.accountId}/keys`, { body: { label: 'second' } })).body.id;
    const accountA = await t.request('POST', '/v1/accounts', { key: keyA, body: { name: 'tenant-a-observer', role: 'Observer', domains: [a.domain] } });
    expect(accountA.status).toBe(201);
    a.accountId = accountA.body.id;
    a.keyId = (await t.request('POST', `/v1/accounts/${a.accountId}/keys`, { key: keyA, body: { label: 'second' } })).body.id;
    serviceAccountId = (await t.request('GET', '/v1/accounts')).body.find((x: { name: string }) => x.name === 'gatewayservice').id;
  }, 60_000);

  async function operations(): Promise<[string, string, Operation][]> {
    const doc = (await t.request('GET', '/docs/openapi.json', { key: null })).body;
    const found: [string, string, Operation][] = [];
    for (const [path, item] of Object.entries<Record<string, Operation>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) if (!op['x-public']) found.push([method.toUpperCase(), path, op]);
    }
    return found;
  }

  /** What B's resources look like to the admin, to prove a refused call changed nothing. */
  async function stateOf(r: Resources) {
    const [escalation, domain, gateway, accounts, agents] = await Promise.all([
      t.request('GET', `/v1/escalations/${r.escalationId}`),
      t.request('GET', `/v1/domains/${r.domainId}`),
      t.request('GET', `/v1/gateways/${r.gatewayId}`),
      t.request('GET', `/v1/accounts`),
      t.request('GET', `/v1/domains/${r.domainId}/agents`),
    ]);
    const account = accounts.body.find((x: { id: string }) => x.id === r.accountId);
    return {
      escalation: { state: escalation.body.state, relay: escalation.body.relay },
      domain: domain.body,
      gateway: { version: gateway.body.version, deployed: gateway.body.deployed },
      account,
      agents: agents.body,
    };
  }

  it("answers every operation on another domain's resources as for ids that do not exist, and changes nothing", async () => {
    const before = await stateOf(b);
    const failures: string[] = [];
    const withPath = (await operations()).filter(([, template]) => template.includes('{'));
    expect(withPath.length).toBeGreaterThan(20);
    for (const [method, template, op] of withPath) {
      const label = `${method} ${template}`;
      const foreign = pathFor(template, b);
      if (typeof foreign !== 'string') {
        failures.push(`${label}: no resource of domain B for ${foreign.missing}; add it to pathFor`);
        continue;
      }
      if (op.requestBody && !BODIES[label]) {
        failures.push(`${label}: no sample body; add one to BODIES`);
        continue;
      }
      const body = op.requestBody ? BODIES[label](b) : undefined;
      const unknown = { ...b, channelConversationId: randomUUID(), messageId: randomUUID(), domainId: randomUUID(), gatewayId: randomUUID(), escalationId: randomUUID(), conversationId: randomUUID(), attachmentId: randomUUID(), accountId: randomUUID(), keyId: randomUUID() };
      const expected = await t.request(method, pathFor(template, unknown) as string, { key: keyA, body });
      const answered = await t.request(method, foreign, { key: keyA, body });
      const ids = (r: Resources) => [r.domainId, r.gatewayId, r.escalationId, r.conversationId, r.attachmentId, r.accountId, r.keyId, r.channelConversationId, r.messageId];
      if (answered.status !== 404) failures.push(`${label}: ${answered.status} ${answered.text.slice(0, 160)}`);
      else expect([label, shape(answered, ids(b))]).toEqual([label, shape(expected, ids(unknown))]);
    }
    // The unscoped service account is outside every scope too.
    for (const [method, path] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/keys']]) {
      const res = await t.request(method, `/v1/accounts/${serviceAccountId}${path}`, { key: keyA, body: method === 'PATCH' ? { description: 'mine now' } : method === 'POST' ? {} : undefined });
      if (res.status !== 404) failures.push(`${method} the service account${path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
    expect(await stateOf(b)).toEqual(before);
  }, 60_000);

  it("filters every list to the key's domains and refuses to create in another domain as in an unknown one", async () => {
    const failures: string[] = [];
    const ids = (res: TestResponse) => (Array.isArray(res.body) ? res.body : res.body.items).map((x: { id: string }) => x.id).sort();
    const as = (path: string, options: Parameters<TestApp['request']>[2] = {}) => t.request(options.body ? 'POST' : 'GET', path, { key: keyA, ...options });
    const sameAs = async (label: string, path: string, foreignBody: unknown, unknownBody: unknown, headers?: Record<string, string>) => {
      const foreign = await as(path, { body: foreignBody, headers });
      const unknown = await as(path, { body: unknownBody, headers });
      if (foreign.status !== 400) failures.push(`${label}: ${foreign.status} ${foreign.text.slice(0, 160)}`);
      expect([label, shape(foreign, [b.domain])]).toEqual([label, shape(unknown, ['no-such-domain'])]);
    };
    const expectations: Record<string, () => Promise<void>> = {
      'GET /v1/roles': async () => expect((await as('/v1/roles')).status).toBe(200),
      'GET /v1/gateway-types': async () => expect((await as('/v1/gateway-types')).status).toBe(200),
      'GET /v1/accounts': async () => {
        const listed = await as('/v1/accounts');
        expect(listed.body.map((x: { name: string }) => x.name).sort()).toEqual(['tenant-a', 'tenant-a-observer']);
      },
      'POST /v1/accounts': async () => {
        await sameAs('POST /v1/accounts', '/v1/accounts', { name: 'in-b', role: 'Observer', domains: [b.domain] }, { name: 'in-b', role: 'Observer', domains: ['no-such-domain'] });
        const unscoped = await as('/v1/accounts', { body: { name: 'unscoped', role: 'Observer' } });
        expect([unscoped.status, unscoped.body.details]).toEqual([400, [{ field: 'domains', message: expect.stringContaining('scoped') }]]);
      },
      'GET /v1/domains': async () => expect(ids(await as('/v1/domains'))).toEqual([a.domainId]),
      'POST /v1/domains': async () => {
        const res = await as('/v1/domains', { body: { name: 'new-tenant', callbackUrl: receiver.url } });
        expect([res.status, res.body.code]).toEqual([403, 'forbidden']);
      },
      'GET /v1/gateways': async () => {
        expect(ids(await as('/v1/gateways')).sort()).toEqual([a.gatewayId, a.channelGatewayId].sort());
        expect((await as(`/v1/gateways?domain=${b.domain}`)).body).toMatchObject({ items: [], total: 0 });
      },
      'POST /v1/gateways': () =>
        sameAs(
          'POST /v1/gateways',
          '/v1/gateways',
          { type: 'fake', settings: { basic: { name: 'in-b', domain: b.domain, deployed: false, platformUrl: platform.baseUrl } } },
          { type: 'fake', settings: { basic: { name: 'in-b', domain: 'no-such-domain', deployed: false, platformUrl: platform.baseUrl } } },
        ),
      'GET /v1/escalations': async () => {
        expect(ids(await as('/v1/escalations'))).toEqual([a.escalationId]);
        expect((await as(`/v1/escalations?domain=${b.domain}`)).body).toMatchObject({ items: [], total: 0 });
      },
      'POST /v1/escalations': () =>
        sameAs(
          'POST /v1/escalations',
          '/v1/escalations',
          escalationBody(b.domain, b.gatewayId, 'isolation-into-b'),
          escalationBody('no-such-domain', b.gatewayId, 'isolation-into-b'),
          { 'idempotency-key': `into-b-${randomUUID()}` },
        ),
      'GET /v1/events/stream': () => streamHoldsOnly(),
      // The proactive API names a gateway: another domain's is not found, as one that does not exist.
      ...Object.fromEntries(
        ['/v1/notifications', '/v1/conversations'].map((path) => [
          `POST ${path}`,
          async () => {
            const body = (gatewayId: string) => ({ gatewayId, recipient: { userId: 'someone' }, message: { text: 'into b' } });
            const foreign = await as(path, { body: body(b.channelGatewayId) });
            const unknown = await as(path, { body: body(randomUUID()) });
            expect([foreign.status, foreign.body.code]).toEqual([404, 'not_found']);
            expect(shape(foreign, [b.channelGatewayId])).toEqual(shape(unknown, [unknown.body.message.match(/[0-9a-f-]{36}/)[0]]));
          },
        ]),
      ),
    };
    for (const [method, template] of (await operations()).filter(([, template]) => !template.includes('{'))) {
      const check = expectations[`${method} ${template}`];
      if (!check) failures.push(`${method} ${template}: no expectation for a scoped key; add one`);
      else await check();
    }
    expect(failures).toEqual([]);
    expect(await withDatabase(async (db) => (await db.query(`SELECT count(*)::int AS n FROM escalations WHERE domain_id = $1`, [b.domainId])).rows[0].n)).toBe(1);
  }, 60_000);

  /** The live stream as `key` sees it from the first event; `ended` settles when the service ends it. */
  async function openStream(key: string) {
    const controller = new AbortController();
    const events: { conversationId: string; type: string; data: { text?: string } }[] = [];
    const res = await fetch(`${t.url}/v1/events/stream?after=evt_0`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    let endedByService = false;
    const ended = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk);
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const data = buffer.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
            buffer = buffer.slice(end + 2);
            if (data) events.push(JSON.parse(data.slice(6)));
          }
        }
        endedByService = true;
      } catch {
        // aborted by the test
      }
    })();
    return {
      events,
      /** Waits until the service ends the stream (a test failure when it does not). */
      ended: () => waitFor('the service to end the stream', () => endedByService),
      close: async () => {
        controller.abort();
        await ended;
      },
    };
  }

  /** From the first event: A's all, none of B's, up to an event of A stored after every event of B. */
  async function streamHoldsOnly(): Promise<void> {
    const stream = await openStream(keyA);
    const streamed = stream.events;
    platform.push(b.sessionId, 'agent_message', { text: 'b, late' });
    await waitFor("B's late message stored", () => receiver.of(b.conversationId).some((d) => d.data.text === 'b, late'));
    platform.push(a.sessionId, 'agent_message', { text: 'a, last' });
    await waitFor("A's last event streamed", () => streamed.some((e) => e.data.text === 'a, last'));
    await stream.close();
    const adminView = await t.request('GET', `/v1/conversations/${a.conversationId}/events?after=0`, { key: ADMIN_KEY });
    expect(streamed.filter((e) => e.conversationId !== a.conversationId && e.conversationId !== a.channelConversationId)).toEqual([]);
    // A's escalation conversation, in order (its channel conversation's events come too, in theirs).
    expect(streamed.filter((e) => e.conversationId === a.conversationId).map((e) => e.type)).toEqual(adminView.body.map((e: { type: string }) => e.type));
  }

  it("works on its own domain's resources with every operation", async () => {
    const failures: string[] = [];
    const withPath = (await operations()).filter(([, template]) => template.includes('{'));
    // Deletions last, the deeper first (a key before its account, an agent before its domain).
    const ordered = [...withPath.filter(([m]) => m !== 'DELETE'), ...withPath.filter(([m]) => m === 'DELETE').sort((x, y) => y[1].length - x[1].length)];
    for (const [method, template, op] of ordered) {
      const path = pathFor(template, a) as string;
      const res = await t.request(method, path, { key: keyA, body: op.requestBody ? BODIES[`${method} ${template}`](a) : undefined, headersOnly: true });
      if ([401, 403, 404].includes(res.status) || res.status >= 500) failures.push(`${method} ${template}: ${res.status} ${res.text.slice(0, 160)}`);
    }
    expect(failures).toEqual([]);
  }, 60_000);

  it('lets a scoped key grant no one more than it has: no unscoped or foreign account, no role beyond its own, no tenant-wide route', async () => {
    await withDatabase((db) => db.query(`INSERT INTO roles (name, description, authorities) VALUES ('Configurator', 'configures', '{gateways:configure}')`));
    const configurator = await t.request('POST', '/v1/accounts', { body: { name: 'configurator-a', role: 'Configurator', domains: [a.domain] } });
    const key = configurator.body.apiKey.key as string;
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, { key, body });

    const wider = await as('POST', '/v1/accounts', { name: 'wider', role: 'Global Gateway Service', domains: [a.domain] });
    expect([wider.status, wider.body.message]).toEqual([403, expect.stringContaining('conversations:observe')]);
    const unscoped = await as('POST', '/v1/accounts', { name: 'unscoped', role: 'Configurator' });
    expect([unscoped.status, unscoped.body.details]).toEqual([400, [{ field: 'domains', message: expect.any(String) }]]);
    const spanning = await as('POST', '/v1/accounts', { name: 'spanning', role: 'Configurator', domains: [a.domain, b.domain] });
    expect([spanning.status, spanning.body.details]).toEqual([400, [{ field: 'domains[1]', message: `unknown domain '${b.domain}'` }]]);

    const own = `/v1/accounts/${configurator.body.id}`;
    expect((await as('PATCH', own, { domains: [a.domain, b.domain] })).body.details).toEqual([{ field: 'domains[1]', message: `unknown domain '${b.domain}'` }]);
    const everything = await as('PATCH', own, { domains: null });
    expect([everything.status, everything.body.code]).toEqual([403, 'forbidden']);
    expect((await as('POST', `${own}/keys`, { domains: [b.domain] })).body.details).toEqual([{ field: 'domains[0]', message: `unknown domain '${b.domain}'` }]);
    expect((await t.request('GET', own)).body.domains).toEqual([a.domain]);

    // What shows every domain at once: a new tenant, the metrics' series, the queues' jobs.
    expect((await t.request('POST', '/v1/domains', { key: keyA, body: { name: 'another-tenant' } })).status).toBe(403);
    const metrics = await t.request('GET', '/metrics', { key: keyA });
    expect([metrics.status, metrics.text]).toEqual([403, expect.not.stringContaining(b.domain)]);
    const queues = await fetch(`${t.url}/queues/api/queues`, { headers: { authorization: `Bearer ${keyA}` } });
    expect([queues.status, await queues.text()]).toEqual([403, expect.not.stringContaining(b.escalationId)]);
  });

  it("narrows a key within its account's domains, and applies a change of the account's domains (or a revocation) to its keys and open streams at once", async () => {
    const listed = async (key: string) => ((await t.request('GET', '/v1/escalations', { key })).body.items as { id: string }[]).map((e) => e.id).sort();
    const both = await t.request('POST', '/v1/accounts', { body: { name: 'both', role: 'Observer', domains: [b.domain, a.domain, a.domain] } });
    expect(both.body.domains).toEqual([a.domain, b.domain].sort());
    const wide = both.body.apiKey.key as string;
    const narrowed = await t.request('POST', `/v1/accounts/${both.body.id}/keys`, { body: { label: 'a only', domains: [a.domain] } });
    expect([narrowed.status, narrowed.body.domains]).toEqual([201, [a.domain]]);
    const narrow = narrowed.body.key as string;
    expect((await t.request('GET', `/v1/accounts/${both.body.id}`)).body.keys.map((k: { domains: string[] | null }) => k.domains)).toEqual([null, [a.domain]]);
    expect((await t.request('POST', `/v1/accounts/${both.body.id}/keys`, { body: { domains: ['no-such-domain'] } })).body.details).toEqual([
      { field: 'domains[0]', message: "unknown domain 'no-such-domain'" },
    ]);
    const onlyA = await t.request('POST', '/v1/accounts', { body: { name: 'only-a', role: 'Observer', domains: [a.domain] } });
    expect((await t.request('POST', `/v1/accounts/${onlyA.body.id}/keys`, { body: { domains: [b.domain] } })).body.details).toEqual([
      { field: 'domains[0]', message: `'${b.domain}' is not one of the account's domains` },
    ]);
    expect(await listed(wide)).toEqual([a.escalationId, b.escalationId].sort());
    expect(await listed(narrow)).toEqual([a.escalationId]);
    const narrowStream = await openStream(narrow);
    await waitFor("the narrow key's stream of A's events", () => narrowStream.events.length > 0);

    const moved = await t.request('PATCH', `/v1/accounts/${both.body.id}`, { body: { domains: [b.domain] } });
    expect([moved.status, moved.body.domains]).toEqual([200, [b.domain]]);
    expect(await listed(wide)).toEqual([b.escalationId]);
    expect(await listed(narrow)).toEqual([]);
    expect((await t.request('GET', `/v1/escalations/${a.escalationId}`, { key: narrow })).status).toBe(404);
    // The open stream ends; a client reconnecting gets the key's new domains.
    await narrowStream.ended();
    expect(narrowStream.events.filter((e) => e.conversationId !== a.conversationId && e.conversationId !== a.channelConversationId)).toEqual([]);

    expect((await t.request('PATCH', `/v1/accounts/${both.body.id}`, { body: { domains: null } })).body.domains).toBeNull();
    expect((await t.request('GET', '/v1/escalations', { key: wide })).body.total).toBeGreaterThanOrEqual(2);
    expect(await listed(narrow)).toEqual([a.escalationId]);

    const revokedStream = await openStream(wide);
    expect((await t.request('DELETE', `/v1/accounts/${both.body.id}/keys/${both.body.apiKey.id}`)).status).toBe(204);
    await revokedStream.ended();
  }, 30_000);

  it('leaves an account scoped to nothing, not to everything, when its only domain is deleted', async () => {
    const domain = await t.request('POST', '/v1/domains', { body: { name: 'short-lived-tenant' } });
    const account = await t.request('POST', '/v1/accounts', { body: { name: 'short-lived', role: 'Observer', domains: ['short-lived-tenant'] } });
    expect((await t.request('DELETE', `/v1/domains/${domain.body.id}`)).status).toBe(204);
    expect((await t.request('GET', `/v1/accounts/${account.body.id}`)).body.domains).toEqual([]);
    const seen = await t.request('GET', '/v1/escalations', { key: account.body.apiKey.key });
    expect([seen.status, seen.body.items]).toEqual([200, []]);
  });
});
