import { FakePlatform } from '@app/simulators/fake/fake-platform';
import { BotReceiver, waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, SIGNING_SECRET } from './fake-setup';

/**
 * JSON clients often send null for a field they have no value for. Every body field set to null is either taken (as
 * absent, or as "clear it" where the API says so) or refused with a 400 naming that field; never a 5xx.
 */
describe('null in request bodies', () => {
  let t: TestApp;
  const platform = new FakePlatform();
  const receiver = new BotReceiver(SIGNING_SECRET);

  beforeAll(async () => {
    await resetState();
    await platform.start();
    await receiver.start();
    t = await startTestApp({});
  });
  afterAll(async () => {
    await t.close();
    await platform.stop();
    await receiver.stop();
  });

  it('answers null in any body field with a 2xx, or a 400 naming the field', async () => {
    const { domain, gatewayId, domainId } = await fakeGateway(t, platform, receiver);
    const base = escalationBody(domain, gatewayId, 'null-base');
    const started = await t.request('POST', '/v1/escalations', { body: base, headers: { 'idempotency-key': 'null-base' } });
    const other = await t.request('POST', '/v1/escalations', { body: { ...base, conversation: { externalId: 'null-other', channel: 'webchat' } }, headers: { 'idempotency-key': 'null-other' } });
    await waitFor('platform sessions', () => platform.sessionFor(started.body.id) && platform.sessionFor(other.body.id));
    const escalation = `/v1/escalations/${started.body.id}`;
    let n = 0;
    const intake = (change: Record<string, unknown>) => ({
      method: 'POST',
      path: '/v1/escalations',
      body: { ...base, conversation: { externalId: `null-${++n}`, channel: 'webchat' }, ...change },
      headers: { 'idempotency-key': `null-${n}` },
    });
    // [request, the field a 400 must name]
    const cases: [{ method: string; path: string; body: unknown; headers?: Record<string, string> }, string][] = [
      ...['attributes', 'history', 'queue'].map((field) => [intake({ [field]: null }), field] as [ReturnType<typeof intake>, string]),
      ...['firstName', 'lastName', 'name', 'email', 'phone', 'language'].map((field) => [intake({ user: { ...base.user, [field]: null } }), `user.${field}`] as [ReturnType<typeof intake>, string]),
      [intake({ user: null }), 'user'],
      [intake({ conversation: { externalId: 'null-channel', channel: null } }), 'conversation.channel'],
      [intake({ history: [{ author: 'user', text: 'hi', time: null }] }), 'history.0.time'],
      [intake({ attributes: { Intent: null } }), 'attributes.Intent'],
      ...['author', 'clientMessageId', 'attachments', 'cards'].map((field) => [{ method: 'POST', path: `${escalation}/messages`, body: { text: 'x', [field]: null } }, field] as [ReturnType<typeof intake>, string]),
      [{ method: 'POST', path: `${escalation}/messages`, body: { text: null } }, 'text'],
      [{ method: 'POST', path: `${escalation}/messages`, body: { text: 'x', attachments: [null] } }, 'attachments.0'],
      [{ method: 'POST', path: `${escalation}/typing`, body: { state: null } }, 'state'],
      [{ method: 'POST', path: `${escalation}/transfer`, body: { queue: null } }, 'queue'],
      [{ method: 'POST', path: `${escalation}/steal`, body: { reason: null } }, 'reason'],
      ...['description', 'callbackUrl', 'signingSecret', 'previousSecretValidHours'].map((field) => [{ method: 'PATCH', path: `/v1/domains/${domainId}`, body: { [field]: null } }, field] as [ReturnType<typeof intake>, string]),
      ...['description', 'callbackUrl', 'signingSecret'].map((field) => [{ method: 'POST', path: '/v1/domains', body: { name: `null-domain-${field}`, [field]: null } }, field] as [ReturnType<typeof intake>, string]),
      [{ method: 'PUT', path: `/v1/domains/${domainId}/agents`, body: { email: 'grace@example.com', displayName: null } }, 'displayName'],
      [{ method: 'POST', path: '/v1/accounts', body: { name: 'null-account', role: 'Observer', description: null } }, 'description'],
      [{ method: 'POST', path: '/v1/accounts', body: { name: 'null-role', role: null } }, 'role'],
      [{ method: 'POST', path: '/v1/gateways', body: { type: 'fake', settings: null } }, 'settings'],
      [{ method: 'PATCH', path: `/v1/gateways/${gatewayId}`, body: { settings: { basic: null } } }, 'settings.basic'],
      [{ method: 'PATCH', path: `/v1/gateways/${gatewayId}`, body: { settings: { basic: { name: null } } } }, 'settings.basic.name'],
      // Another escalation: the steal above ended this one.
      [{ method: 'POST', path: `/v1/escalations/${other.body.id}/end`, body: { reason: null } }, 'reason'],
    ];
    const answers: string[] = [];
    for (const [{ method, path, body, headers }, field] of cases) {
      const res = await t.request(method as never, path, { body, headers });
      const named = res.status === 400 && (res.body.details as { field: string }[] | undefined)?.some((d) => d.field === field);
      answers.push(`${method} ${path.replace(/[0-9a-f-]{36}/g, ':id')} ${field}: ${res.status < 300 ? '2xx' : named ? '400 naming it' : `${res.status} ${res.text.slice(0, 200)}`}`);
    }
    expect(answers.filter((answer) => !answer.endsWith(': 2xx') && !answer.endsWith(': 400 naming it'))).toEqual([]);
    // What the API says null means where it takes it.
    expect(answers).toEqual(expect.arrayContaining([
      'PATCH /v1/domains/:id description: 2xx',
      'PATCH /v1/domains/:id signingSecret: 400 naming it',
      'POST /v1/accounts description: 2xx',
    ]));
  }, 60_000);
});
