import { EscalationProducer } from '@app/client';
import { waitFor } from '../support/bot-receiver';
import { TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from './fake-setup';

interface Probe {
  method: string;
  path: string;
  body: unknown;
  headers?: Record<string, string>;
}
/** A request, and the field a 400 must name. */
type Case = [Probe, string];

/** Requests to POST /v1/escalations: `base` with a conversation and an idempotency key of their own, and `change`. */
function intakes(base: Record<string, unknown>, prefix: string): (change: Record<string, unknown>) => Probe {
  let n = 0;
  return (change) => ({
    method: 'POST',
    path: '/v1/escalations',
    body: { ...base, conversation: { externalId: `${prefix}-${++n}`, channel: 'webchat' }, ...change },
    headers: { 'idempotency-key': `${prefix}-${n}` },
  });
}

/** Each case's answer, summed up as `<label> <method> <path> <field>: 2xx | 400 naming it | <status> <body>`. */
async function answersTo(t: TestApp, cases: Case[], label = ''): Promise<string[]> {
  const answers: string[] = [];
  for (const [{ method, path, body, headers }, field] of cases) {
    const res = await t.request(method, path, { body, headers });
    const named = res.status === 400 && (res.body.details as { field: string }[] | undefined)?.some((d) => d.field === field);
    const outcome = res.status < 300 ? '2xx' : named ? '400 naming it' : `${res.status} ${res.text.slice(0, 200)}`;
    answers.push(`${label}${method} ${path.replace(/[0-9a-f-]{36}/g, ':id').split('?')[0]} ${field}: ${outcome}`);
  }
  return answers;
}

/**
 * Values a well-typed client still sends. JSON clients often send null for a field they have no value for: every body
 * field set to null is either taken (as absent, or as "clear it" where the API says so) or refused with a 400 naming
 * that field. Text PostgreSQL cannot store (NUL, an unpaired surrogate), and arrays where objects belong, are refused
 * with a 400 naming the field. Concurrent creates of one name get a 409. Never a 5xx.
 */
describe('awkward input', () => {
  const suite = fakeSuite({});
  const { platform, receiver } = suite;
  let t: TestApp;
  beforeAll(() => (t = suite.t));

  it('answers null in any body field with a 2xx, or a 400 naming the field', async () => {
    const { domain, gatewayId, domainId } = await fakeGateway(t, platform, receiver);
    const base = escalationBody(domain, gatewayId, 'null-base');
    const started = await t.request('POST', '/v1/escalations', { body: base, headers: { 'idempotency-key': 'null-base' } });
    const other = await t.request('POST', '/v1/escalations', { body: { ...base, conversation: { externalId: 'null-other', channel: 'webchat' } }, headers: { 'idempotency-key': 'null-other' } });
    await waitFor('platform sessions', () => platform.sessionFor(started.body.id) && platform.sessionFor(other.body.id));
    const escalation = `/v1/escalations/${started.body.id}`;
    const intake = intakes(base, 'null');
    const cases: Case[] = [
      ...['attributes', 'history', 'queue'].map((field) => [intake({ [field]: null }), field] as Case),
      ...['firstName', 'lastName', 'name', 'email', 'phone', 'language'].map((field) => [intake({ user: { ...base.user, [field]: null } }), `user.${field}`] as Case),
      [intake({ user: null }), 'user'],
      [intake({ conversation: { externalId: 'null-channel', channel: null } }), 'conversation.channel'],
      [intake({ history: [{ author: 'user', text: 'hi', time: null }] }), 'history.0.time'],
      [intake({ attributes: { Intent: null } }), 'attributes.Intent'],
      ...['author', 'clientMessageId', 'attachments', 'cards'].map((field) => [{ method: 'POST', path: `${escalation}/messages`, body: { text: 'x', [field]: null } }, field] as Case),
      [{ method: 'POST', path: `${escalation}/messages`, body: { text: null } }, 'text'],
      [{ method: 'POST', path: `${escalation}/messages`, body: { text: 'x', attachments: [null] } }, 'attachments.0'],
      [{ method: 'POST', path: `${escalation}/typing`, body: { state: null } }, 'state'],
      [{ method: 'POST', path: `${escalation}/transfer`, body: { queue: null } }, 'queue'],
      [{ method: 'POST', path: `${escalation}/steal`, body: { reason: null } }, 'reason'],
      ...['description', 'callbackUrl', 'signingSecret', 'previousSecretValidHours'].map((field) => [{ method: 'PATCH', path: `/v1/domains/${domainId}`, body: { [field]: null } }, field] as Case),
      ...['description', 'callbackUrl', 'signingSecret'].map((field) => [{ method: 'POST', path: '/v1/domains', body: { name: `null-domain-${field}`, [field]: null } }, field] as Case),
      [{ method: 'PUT', path: `/v1/domains/${domainId}/agents`, body: { email: 'grace@example.com', displayName: null } }, 'displayName'],
      [{ method: 'POST', path: '/v1/accounts', body: { name: 'null-account', role: 'Observer', description: null } }, 'description'],
      [{ method: 'POST', path: '/v1/accounts', body: { name: 'null-role', role: null } }, 'role'],
      [{ method: 'POST', path: '/v1/gateways', body: { type: 'fake', settings: null } }, 'settings'],
      [{ method: 'PATCH', path: `/v1/gateways/${gatewayId}`, body: { settings: { basic: null } } }, 'settings.basic'],
      [{ method: 'PATCH', path: `/v1/gateways/${gatewayId}`, body: { settings: { basic: { name: null } } } }, 'settings.basic.name'],
      // Another escalation: the steal above ended this one.
      [{ method: 'POST', path: `/v1/escalations/${other.body.id}/end`, body: { reason: null } }, 'reason'],
    ];
    const answers = await answersTo(t, cases);
    expect(answers.filter((answer) => !answer.endsWith(': 2xx') && !answer.endsWith(': 400 naming it'))).toEqual([]);
    // What the API says null means where it takes it.
    expect(answers).toEqual(expect.arrayContaining([
      'PATCH /v1/domains/:id description: 2xx',
      'PATCH /v1/domains/:id signingSecret: 400 naming it',
      'POST /v1/accounts description: 2xx',
    ]));
  }, 60_000);

  it('refuses text that cannot be stored, in any field of a body or a query, with a 400 naming the field', async () => {
    const { domain, gatewayId, domainId } = await fakeGateway(t, platform, receiver, { name: 'unstorable' });
    const base = escalationBody(domain, gatewayId, 'text-base');
    const started = await t.request('POST', '/v1/escalations', { body: base, headers: { 'idempotency-key': 'text-base' } });
    await waitFor('platform session', () => platform.sessionFor(started.body.id));
    const escalation = `/v1/escalations/${started.body.id}`;
    const answers: string[] = [];
    // In a URL only NUL comes through: a surrogate's UTF-8 form is no UTF-8, and the query stays percent-encoded.
    for (const [kind, bad, inUrl] of [['NUL', 'a\u0000b', 'a%00b'], ['unpaired surrogate', 'a\ud800b', null]] as [string, string, string | null][]) {
      const intake = intakes(base, `text-${kind}`);
      const cases: Case[] = [
        [intake({ conversation: { externalId: bad, channel: 'webchat' } }), 'conversation.externalId'],
        [intake({ user: { ...base.user, name: bad } }), 'user.name'],
        [intake({ attributes: { Intent: bad } }), 'attributes.Intent'],
        [intake({ attributes: { [bad]: 'yes' } }), `attributes.${bad}`],
        [intake({ history: [{ author: 'user', text: bad, time: '2026-11-22T10:00:00Z' }] }), 'history.0.text'],
        [intake({ queue: bad }), 'queue'],
        [{ method: 'POST', path: `${escalation}/messages`, body: { text: bad } }, 'text'],
        [{ method: 'POST', path: `${escalation}/messages`, body: { text: 'x', attachments: [{ name: bad, mimeType: 'text/plain', contentBase64: 'aGk=' }] } }, 'attachments.0.name'],
        [{ method: 'POST', path: `${escalation}/transfer`, body: { queue: bad } }, 'queue'],
        [{ method: 'POST', path: `${escalation}/end`, body: { reason: bad } }, 'reason'],
        [{ method: 'PATCH', path: `/v1/domains/${domainId}`, body: { description: bad } }, 'description'],
        [{ method: 'PUT', path: `/v1/domains/${domainId}/agents`, body: { email: 'grace@example.com', displayName: bad } }, 'displayName'],
        [{ method: 'POST', path: '/v1/accounts', body: { name: 'text-account', role: 'Observer', description: bad } }, 'description'],
        [{ method: 'PATCH', path: `/v1/gateways/${gatewayId}`, body: { settings: { basic: { name: bad } } } }, 'settings.basic.name'],
      ];
      if (inUrl) {
        cases.push([{ method: 'GET', path: `/v1/escalations?domain=${inUrl}`, body: undefined }, 'domain']);
        cases.push([{ method: 'GET', path: `/v1/gateways?domain=${inUrl}`, body: undefined }, 'domain']);
      }
      answers.push(...(await answersTo(t, cases, `${kind} `)));
    }
    expect(answers.filter((answer) => !answer.endsWith(': 400 naming it'))).toEqual([]);
    // Nothing of it was stored, and the escalation goes on.
    expect((await t.request('GET', `/v1/escalations?domain=${domain}`)).body.items).toHaveLength(1);
    expect((await t.request('POST', `${escalation}/messages`, { body: { text: 'still fine' } })).status).toBe(202);
    await waitFor('the message after', () => platform.sessionFor(started.body.id)!.received.some((r) => r.kind === 'message' && r.body.text === 'still fine'));

    // The escalation-requests queue refuses it the same way, without retrying.
    const producer = new EscalationProducer({ connection: { host: '127.0.0.1', port: 6379 }, prefix: process.env.REDIS_PREFIX });
    try {
      const jobId = await producer.enqueue({ idempotencyKey: 'text-queue', requestedBy: 'crm', request: { ...base, user: { ...base.user, name: 'a\u0000b' } } as never });
      const outcome = await waitFor('job failed', async () => {
        const o = await producer.outcome(jobId);
        return o.state === 'failed' ? o : null;
      });
      expect(outcome.errors).toMatchObject({ code: 'validation_failed', details: [{ field: 'request.user.name' }] });
    } finally {
      await producer.close();
    }
  }, 60_000);

  it('refuses an array where an object belongs, and a sequence number past the integer range, naming the field', async () => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver, { name: 'shapes' });
    const base = escalationBody(domain, gatewayId, 'shape-base');
    const started = await t.request('POST', '/v1/escalations', { body: base, headers: { 'idempotency-key': 'shape-base' } });
    await waitFor('platform session', () => platform.sessionFor(started.body.id));
    const intake = intakes(base, 'shape');
    const cases: Case[] = [
      [intake({ conversation: [] }), 'conversation'],
      [intake({ user: [] }), 'user'],
      [intake({ history: [[]] }), 'history'],
      [intake({ history: [{ author: 'user', time: '2026-11-22T10:00:00Z', attachments: [[]] }] }), 'history.0.attachments'],
      [{ method: 'POST', path: `/v1/escalations/${started.body.id}/messages`, body: { text: 'x', cards: [[]] } }, 'cards'],
      [{ method: 'GET', path: `/v1/conversations/${started.body.conversationId}/events?after=1e%2B308`, body: undefined }, 'after'],
      [{ method: 'GET', path: `/v1/conversations/${started.body.conversationId}/events?after=2147483648`, body: undefined }, 'after'],
    ];
    const answers = await answersTo(t, cases);
    expect(answers.filter((answer) => !answer.endsWith(': 400 naming it'))).toEqual([]);
    expect((await t.request('GET', `/v1/conversations/${started.body.conversationId}/events?after=2147483647`)).body).toEqual([]);
  }, 30_000);

  it('answers concurrent creates of one name with one 201 and 409s, never a 500', async () => {
    const { domain } = await fakeGateway(t, platform, receiver, { name: 'racing' });
    const race = async (path: string, body: unknown) => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => t.request('POST', path, { body })));
      return answers.map((res) => res.status).sort();
    };
    expect(await race('/v1/domains', { name: 'racing-domain' })).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await race('/v1/accounts', { name: 'racing-account', role: 'Observer' })).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await race('/v1/gateways', { type: 'fake', settings: { basic: { name: 'racing-gateway', domain, deployed: false, platformUrl: platform.baseUrl } } })).toEqual([
      201, 409, 409, 409, 409, 409,
    ]);
  });
});
