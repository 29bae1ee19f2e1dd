import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { conversationOf, fakeChannel, userSays } from '../channels/channel-setup';
import { createHmac } from 'node:crypto';
import { normalizeOasSchema } from '@app/simulators/eight-by-eight/openapi-request-validator';
import Ajv, { ValidateFunction } from 'ajv';
import { buildOpenApi } from '../../src/app.factory';
import { FileLinks } from '../../src/escalations/file-links';
import { waitFor } from '../support/bot-receiver';
import { closed, documentAjv } from '../support/documented-events';
import { TestApp, TestResponse } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite, SIGNING_SECRET } from './fake-setup';

type Json = Record<string, unknown>;

/**
 * What integrators generate their clients from must be what the service answers: each answer of a walk through the
 * API (admin, escalations, relay, replay, platform webhook, errors) is checked against the schema the OpenAPI document
 * gives its operation and status, with every documented object closed to fields it does not name.
 */
describe('answers as the OpenAPI document describes them', () => {
  const suite = fakeSuite({});
  const { platform, receiver } = suite;
  const channel = new FakeChannelPlatform();
  beforeAll(() => channel.start());
  afterAll(() => channel.stop());
  let t: TestApp;
  let document: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
  let ajv: Ajv;
  const validators = new Map<string, ValidateFunction>();
  const findings: string[] = [];
  const checked: string[] = [];

  beforeAll(() => {
    t = suite.t;
    document = JSON.parse(JSON.stringify(buildOpenApi(t.app)));
    ajv = documentAjv(document as unknown as { components: { schemas: Json } });
  });

  /** Checks one answer against its operation's schema for that status; returns it. */
  function check(method: string, template: string, res: TestResponse): TestResponse {
    const label = `${method} ${template} ${res.status}`;
    checked.push(label);
    const response = document.paths[template]?.[method.toLowerCase()]?.responses[String(res.status)];
    if (!response) {
      findings.push(`${label}: status not documented (${res.text.slice(0, 120)})`);
      return res;
    }
    if (res.status === 204) return res;
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      findings.push(`${label}: no JSON schema`);
      return res;
    }
    let validate = validators.get(label);
    if (!validate) {
      validate = ajv.compile(closed(normalizeOasSchema(schema)) as Json);
      validators.set(label, validate);
    }
    if (!validate(res.body)) findings.push(`${label}: ${ajv.errorsText(validate.errors, { dataVar: 'answer' })}`);
    return res;
  }
  const call = async (method: string, template: string, path: string, options: Parameters<TestApp['request']>[2] = {}) => check(method, template, await t.request(method, path, options));

  it('answers every operation of a walk through the API as documented', async () => {
    // Admin: roles, accounts and keys, domains and their agents, gateway types and gateways.
    await call('GET', '/v1/roles', '/v1/roles');
    const account = await call('POST', '/v1/accounts', '/v1/accounts', { body: { name: 'documented', role: 'Observer', description: 'checks answers' } });
    await call('GET', '/v1/accounts', '/v1/accounts');
    await call('GET', '/v1/accounts/{id}', `/v1/accounts/${account.body.id}`);
    const key = await call('POST', '/v1/accounts/{id}/keys', `/v1/accounts/${account.body.id}/keys`, { body: { label: 'second' } });
    await call('DELETE', '/v1/accounts/{id}/keys/{keyId}', `/v1/accounts/${account.body.id}/keys/${key.body.id}`);
    await call('DELETE', '/v1/accounts/{id}', `/v1/accounts/${account.body.id}`);

    const { domain, domainId, gatewayId } = await fakeGateway(t, platform, receiver);
    const scoped = await call('POST', '/v1/accounts', '/v1/accounts', { body: { name: 'documented-scoped', role: 'Observer', domains: [domain] } });
    await call('PATCH', '/v1/accounts/{id}', `/v1/accounts/${scoped.body.id}`, { body: { description: 'one domain', domains: [domain] } });
    await call('POST', '/v1/accounts/{id}/keys', `/v1/accounts/${scoped.body.id}/keys`, { body: { label: 'narrowed', domains: [domain] } });
    await call('PATCH', '/v1/accounts/{id}', `/v1/accounts/${scoped.body.id}`, { body: { domains: null } });
    await call('GET', '/v1/domains', '/v1/domains');
    await call('GET', '/v1/domains/{id}', `/v1/domains/${domainId}`);
    await call('PATCH', '/v1/domains/{id}', `/v1/domains/${domainId}`, { body: { description: 'documented', signingSecret: SIGNING_SECRET } });
    await call('PUT', '/v1/domains/{id}/agents', `/v1/domains/${domainId}/agents`, { body: { email: 'grace@example.com', displayName: 'Grace H.' } });
    await call('GET', '/v1/domains/{id}/agents', `/v1/domains/${domainId}/agents`);
    await call('DELETE', '/v1/domains/{id}/agents/{email}', `/v1/domains/${domainId}/agents/grace@example.com`);
    const spare = await call('POST', '/v1/domains', '/v1/domains', { body: { name: 'documented-spare', callbackUrl: receiver.url } });
    await call('DELETE', '/v1/domains/{id}', `/v1/domains/${spare.body.id}`);

    await call('GET', '/v1/gateway-types', '/v1/gateway-types');
    await call('GET', '/v1/gateways', '/v1/gateways');
    const gateway = await call('GET', '/v1/gateways/{id}', `/v1/gateways/${gatewayId}`);
    await call('PATCH', '/v1/gateways/{id}', `/v1/gateways/${gatewayId}`, { body: { settings: { basic: { apiToken: 'documented-token' } } }, headers: { 'if-match': gateway.headers.get('etag')! } });
    await call('POST', '/v1/gateways/{id}/test', `/v1/gateways/${gatewayId}/test`);
    await call('GET', '/v1/gateways/{id}/audit', `/v1/gateways/${gatewayId}/audit`);
    const other = await call('POST', '/v1/gateways', '/v1/gateways', {
      body: { type: 'fake', settings: { basic: { name: 'documented-other', domain, deployed: false, platformUrl: platform.baseUrl } } },
    });
    await call('POST', '/v1/gateways/{id}/deploy', `/v1/gateways/${other.body.id}/deploy`);
    await call('POST', '/v1/gateways/{id}/undeploy', `/v1/gateways/${other.body.id}/undeploy`);
    await call('DELETE', '/v1/gateways/{id}', `/v1/gateways/${other.body.id}`);

    // A channel conversation: the bot's message, typing, its status, and a refusal naming a field.
    const { gatewayId: channelGatewayId } = await fakeChannel(t, channel, receiver, { inDomain: domain });
    await userSays(t, channel, channelGatewayId, [{ id: 'documented-user-1', conversationId: 'documented-pc', text: 'hi' }]);
    const channelConversation = await conversationOf(receiver, 'documented-pc');
    const sent = await call('POST', '/v1/conversations/{id}/messages', `/v1/conversations/${channelConversation}/messages`, { body: { text: 'hello' }, headers: { 'idempotency-key': 'documented-m1' } });
    await call('POST', '/v1/conversations/{id}/messages', `/v1/conversations/${channelConversation}/messages`, { body: { text: 'pick', quickReplies: [{ title: 'Yes' }] } });
    await call('POST', '/v1/conversations/{id}/typing', `/v1/conversations/${channelConversation}/typing`, { body: {} });
    await call('GET', '/v1/conversations/{id}/messages/{messageId}', `/v1/conversations/${channelConversation}/messages/${sent.body.id}`);
    // Writing first: a notification, a pushed conversation, a refusal; the opt-out list; an endpoint verification.
    const recipient = { userId: 'user-documented-pc' };
    await call('POST', '/v1/notifications', '/v1/notifications', { body: { gatewayId: channelGatewayId, recipient, message: { text: 'notice' } }, headers: { 'idempotency-key': 'documented-n1' } });
    await call('POST', '/v1/notifications', '/v1/notifications', { body: { gatewayId: channelGatewayId, recipient: { userId: 'nobody' }, message: { text: 'notice' } } });
    await call('POST', '/v1/conversations', '/v1/conversations', { body: { gatewayId: channelGatewayId, recipient, message: { text: 'shall we?' }, context: { topic: 'documented' } } });
    await call('PUT', '/v1/gateways/{id}/opt-outs/{userId}', `/v1/gateways/${channelGatewayId}/opt-outs/someone`, { body: { note: 'documented' } });
    await call('GET', '/v1/gateways/{id}/opt-outs', `/v1/gateways/${channelGatewayId}/opt-outs?limit=10`);
    await call('DELETE', '/v1/gateways/{id}/opt-outs/{userId}', `/v1/gateways/${channelGatewayId}/opt-outs/someone`);
    await call('GET', '/v1/webhooks/{gatewayId}', `/v1/webhooks/${channelGatewayId}?hub.mode=subscribe`, { key: null });

    // Escalations: intake, relay, the platform's webhook, replay, lists, the end and a steal.
    const escalation = await call('POST', '/v1/escalations', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'documented-1'), headers: { 'idempotency-key': 'documented-1' } });
    const session = await waitFor('platform session', () => platform.sessionFor(escalation.body.id));
    const id = escalation.body.id as string;
    await call('POST', '/v1/escalations/{id}/messages', `/v1/escalations/${id}/messages`, {
      body: { text: 'with a file', attachments: [{ name: 'a.txt', mimeType: 'text/plain', contentBase64: Buffer.from('file').toString('base64') }] },
    });
    await call('POST', '/v1/escalations/{id}/typing', `/v1/escalations/${id}/typing`, { body: { state: 'started' } });
    await call('POST', '/v1/escalations/{id}/transfer', `/v1/escalations/${id}/transfer`, { body: { queue: 'billing' } });
    const webhook = JSON.stringify({ eventId: 'documented-hook-1', sessionId: session.id, event: { index: 900, type: 'agent_joined', data: { agent: { id: 'a-1', name: 'Grace' } }, at: Date.now() } });
    const signature = createHmac('sha256', 'documented-token').update(webhook).digest('hex');
    await call('POST', '/v1/webhooks/{gatewayId}', `/v1/webhooks/${gatewayId}`, { raw: webhook, headers: { 'content-type': 'application/json', 'x-fake-signature': signature } });
    platform.push(session.id, 'attachment', { attachment: { name: 'statement.pdf', mimeType: 'application/pdf', base64: Buffer.from('%PDF-1.4').toString('base64') } });
    await waitFor('the agent joined and the file', () => receiver.of(escalation.body.conversationId).some((d) => d.type === 'attachment') && receiver.of(escalation.body.conversationId).some((d) => d.type === 'agent_joined'));
    await call('GET', '/v1/escalations', `/v1/escalations?domain=${domain}&state=active&state=queued&pageSize=5`);
    const detail = await call('GET', '/v1/escalations/{id}', `/v1/escalations/${id}`);
    await call('GET', '/v1/conversations/{id}', `/v1/conversations/${escalation.body.conversationId}`);
    await call('GET', '/v1/conversations/{id}/events', `/v1/conversations/${escalation.body.conversationId}/events?after=0`);
    await call('GET', '/v1/conversations/{id}/events/{seq}/attempts', `/v1/conversations/${escalation.body.conversationId}/events/1/attempts`);
    await call('GET', '/v1/conversations/{id}/events/{seq}/attempts', `/v1/conversations/${escalation.body.conversationId}/events/999/attempts`);
    const file = (detail.body.transcript as { type: string; data: { attachment?: { url: string } } }[]).find((e) => e.type === 'attachment')!;
    // A file, under its own content type: only the status is the document's.
    const download = await t.request('GET', file.data.attachment!.url);
    checked.push(`GET /v1/escalations/{id}/attachments/{attachmentId} ${download.status}`);
    if (download.status !== 200 || download.headers.get('content-type') !== 'application/pdf') findings.push(`attachment download answered ${download.status}`);
    // The same file by its keyless signed link (as a channel's user gets it), and its refusals.
    const links = t.app.get(FileLinks);
    const attachmentId = file.data.attachment!.url.split('/').pop()!;
    const linkPath = (url: string) => { const u = new URL(url); return `${u.pathname}${u.search}`; };
    const byLink = await t.request('GET', linkPath(links.url(id, attachmentId)), { key: null });
    checked.push(`GET /v1/files/{escalationId}/{attachmentId} ${byLink.status}`);
    if (byLink.status !== 200 || byLink.headers.get('content-type') !== 'application/pdf') findings.push(`file link answered ${byLink.status}`);
    const fileLink = '/v1/files/{escalationId}/{attachmentId}';
    await call('GET', fileLink, linkPath(links.url(id, attachmentId)).replace(/signature=./, 'signature=_'), { key: null });
    await call('GET', fileLink, linkPath(links.url(id, attachmentId, new Date(Date.now() - 1000))), { key: null });
    await call('GET', fileLink, `/v1/files/${id}/${attachmentId}?expires=1`, { key: null });
    await call('POST', '/v1/escalations/{id}/steal', `/v1/escalations/${id}/steal`, { body: { reason: 'documented' } });
    await call('POST', '/v1/escalations/{id}/end', `/v1/escalations/${id}/end`, { body: {} });

    const second = await call('POST', '/v1/escalations', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'documented-2'), headers: { 'idempotency-key': 'documented-2' } });
    await waitFor('second session', () => platform.sessionFor(second.body.id));
    await call('POST', '/v1/escalations/{id}/end', `/v1/escalations/${second.body.id}/end`, { body: { reason: 'user left' } });

    // What the bot received: each delivery as the callback on the domain operations describes it.
    await waitFor('the end at the bot', () => receiver.of(escalation.body.conversationId).some((d) => d.type === 'ended'));
    const callback = (document.paths['/v1/domains'].post as unknown as { callbacks: Record<string, Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>> }).callbacks.event;
    const deliveredSchema = callback['{$request.body#/callbackUrl}'].post.requestBody.content['application/json'].schema;
    const validateDelivery = ajv.compile(closed(normalizeOasSchema(deliveredSchema)) as Json);
    const delivered = [...receiver.of(escalation.body.conversationId), ...receiver.of(second.body.conversationId)];
    for (const delivery of delivered) {
      checked.push(`callback ${delivery.type}`);
      if (!validateDelivery(JSON.parse(delivery.raw.body))) findings.push(`callback ${delivery.type}: ${ajv.errorsText(validateDelivery.errors, { dataVar: 'body' })}`);
    }
    expect(new Set(delivered.map((d) => d.type))).toEqual(new Set(['queued', 'agent_joined', 'attachment', 'ended']));

    // Errors, each in the shared error body.
    await call('GET', '/v1/domains/{id}', '/v1/domains/00000000-0000-0000-0000-000000000000');
    await call('POST', '/v1/escalations', '/v1/escalations', { body: { domain }, headers: { 'idempotency-key': 'documented-bad' } });
    await call('POST', '/v1/escalations', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'documented-other'), headers: { 'idempotency-key': 'documented-1' } });
    await call('GET', '/v1/domains', '/v1/domains', { key: null });
    await call('POST', '/v1/webhooks/{gatewayId}', `/v1/webhooks/${gatewayId}`, { raw: webhook, headers: { 'content-type': 'application/json', 'x-fake-signature': '00' } });

    expect(findings).toEqual([]);
    // Every operation of the document was walked (the live stream has its own test: it never ends).
    const walked = new Set(checked.filter((label) => !label.startsWith('callback ')).map((label) => label.split(' ').slice(0, 2).join(' ')));
    const operations = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.filter((operation) => !walked.has(operation))).toEqual(['GET /v1/events/stream']);
  }, 60_000);

  it('finds an answer field the document does not name, and a documented one missing', async () => {
    const { domainId } = await fakeGateway(t, platform, receiver);
    const res = await t.request('GET', `/v1/domains/${domainId}`);
    const before = findings.length;
    check('GET', '/v1/domains/{id}', { ...res, body: { ...res.body, signingSecret: 'whsec_leaked' } });
    const { createdAt: _dropped, ...missing } = res.body;
    check('GET', '/v1/domains/{id}', { ...res, body: missing });
    expect(findings.slice(before)).toEqual([
      'GET /v1/domains/{id} 200: answer must NOT have additional properties',
      "GET /v1/domains/{id} 200: answer must have required property 'createdAt'",
    ]);
  });
});
