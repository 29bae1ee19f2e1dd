import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EightByEightSimulator } from './eight-by-eight-simulator';
import { EightByEightHarness, EXAMPLE_REQUESTS, startHarness } from './eight-by-eight-test.fixtures';
import { indentFlowScalarContinuations, normalizeOasSchema, OasRequest, OpenApiRequestValidator } from './openapi-request-validator';

const json = (method: string, requestPath: string, body?: unknown, extra: Partial<OasRequest> = {}): OasRequest => ({
  method,
  path: requestPath,
  headers: { 'x-api-key': 'key', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
  ...extra,
});

describe('OpenApiRequestValidator on 8x8 Chat Gateway document', () => {
  const validator = OpenApiRequestValidator.fromFile();

  it('accepts the example requests of 8x8 documentation', () => {
    const requests = [
      json('POST', '/chat-gateway/v1/webhooks', EXAMPLE_REQUESTS.createWebhook('https://bot.example.com/8x8')),
      json('POST', '/chat-gateway/v1/channels', EXAMPLE_REQUESTS.createChannel('wh1')),
      json('POST', '/chat-gateway/v1/conversations', EXAMPLE_REQUESTS.createConversation('ch1')),
      json('POST', '/chat-gateway/v1/conversations/c1/messages', EXAMPLE_REQUESTS.messageWithCards),
      json('POST', '/chat-gateway/v1/conversations/c1/messages', EXAMPLE_REQUESTS.messageWithExternalProvider),
      json('POST', '/chat-gateway/v1/conversations/c1/post-agent-assignment', EXAMPLE_REQUESTS.postAgentAssignment('wh1')),
      json('PATCH', '/chat-gateway/v1/conversations/c1/participants/user', { removed: true }),
      json('GET', '/chat-gateway/v1/webhooks', undefined, { query: new URLSearchParams('size=100&page=1&sort=id:asc') }),
    ];
    for (const request of requests) expect([request.path, validator.validate(request)]).toEqual([request.path, []]);
  });

  it('reports a body that breaks the schema, naming the field', () => {
    const body = { ...EXAMPLE_REQUESTS.createConversation('ch1'), user: { name: 'J', email: 'not-an-email' } };
    expect(validator.validate(json('POST', '/chat-gateway/v1/conversations', body))).toEqual([
      { method: 'POST', path: '/chat-gateway/v1/conversations', operationId: 'createcctransaction-1', location: 'body', message: '/user/email must match format "email"' },
    ]);
    const typing = validator.validate(json('POST', '/chat-gateway/v1/conversations/c1/typing', { authorType: 'agent' }));
    expect(typing.map((violation) => violation.message)).toEqual(['/authorType must be equal to one of the allowed values']);
  });

  it('reports a missing x-api-key, a mistyped query parameter, a missing body and a wrong content type', () => {
    const list = validator.validate({ method: 'GET', path: '/chat-gateway/v1/webhooks', headers: {}, query: new URLSearchParams('size=ten') });
    expect(list.map((violation) => violation.location)).toEqual(['security', 'query']);
    expect(validator.validate(json('POST', '/chat-gateway/v1/conversations'))[0].message).toBe('request body is required');
    const text = validator.validate({ method: 'POST', path: '/chat-gateway/v1/webhooks', headers: { 'x-api-key': 'k', 'content-type': 'text/plain' }, body: 'hi' });
    expect(text[0].location).toBe('content-type');
  });

  it('reports operations the document does not define', () => {
    expect(validator.validate(json('GET', '/chat-gateway/v1/queues'))[0]).toMatchObject({ location: 'operation' });
    expect(validator.validate(json('DELETE', '/chat-gateway/v1/conversations/c1'))[0].message).toContain('allowed: GET, PUT, PATCH');
    expect(validator.findOperation('POST', '/chat-gateway/v1/webhooks/verify')?.operationId).toBe('verifywebhook-1');
  });

  it('takes version or notificationVersion for a webhook but not neither', () => {
    const base = { name: 'n', uri: 'https://bot.example.com/8x8' };
    expect(validator.validate(json('POST', '/chat-gateway/v1/webhooks', { ...base, notificationVersion: 'Chat Gateway v1.0' }))).toEqual([]);
    expect(validator.validate(json('POST', '/chat-gateway/v1/webhooks', base)).length).toBeGreaterThan(0);
  });

  it('checks multipart fields once they are given', () => {
    const upload = { method: 'POST', path: '/chat-gateway/v1/conversations/c1/attachments', headers: { 'x-api-key': 'k', 'content-type': 'multipart/form-data; boundary=x' } };
    expect(validator.validate({ ...upload, form: { attachment: 'a.pdf', authorType: 'user' } })).toEqual([]);
    expect(validator.validate({ ...upload, form: { attachment: 'a.pdf', authorType: 7 as unknown as string } })).toHaveLength(1);
  });

  it('turns OpenAPI 3.0 schemas into JSON Schema and mends the quirks of the document', () => {
    expect(normalizeOasSchema({ type: 'string', nullable: true, enum: ['a'], example: 'a', 'x-extensible-enum': ['b'] })).toEqual({ type: ['string', 'null'], enum: ['a', null] });
    expect(normalizeOasSchema({ type: 'array', maxProperties: 30, items: { $ref: '#/components/schemas/X' } })).toEqual({ type: 'array', maxItems: 30, items: { $ref: 'oas-document#/components/schemas/X' } });
    expect(normalizeOasSchema({ type: 'number', minimum: 1, exclusiveMinimum: true })).toEqual({ type: 'number', exclusiveMinimum: 1 });
    expect(normalizeOasSchema({ properties: { example: { type: 'string' } } })).toEqual({ properties: { example: { type: 'string' } } });
  });

  it('parses a multi-line quoted scalar whose continuation lines sit at the key column', () => {
    const text = 'a:\n  b: "first\n\n  second"\n  c: 1\n';
    expect(() => parseYaml(text)).toThrow();
    expect(parseYaml(indentFlowScalarContinuations(text))).toEqual({ a: { b: 'first\nsecond', c: 1 } });
  });

  it('finds the document through EIGHT_BY_EIGHT_OAS_PATH', () => {
    const copy = path.join(mkdtempSync(path.join(tmpdir(), 'oas-')), 'copy.yml');
    copyFileSync(OpenApiRequestValidator.defaultDocumentPath(), copy);
    const previous = process.env.EIGHT_BY_EIGHT_OAS_PATH;
    process.env.EIGHT_BY_EIGHT_OAS_PATH = copy;
    try {
      expect(OpenApiRequestValidator.defaultDocumentPath()).toBe(copy);
      expect(OpenApiRequestValidator.fromFile().findOperation('GET', '/chat-gateway/v1/channels')?.operationId).toBe('getchatapichannels-1');
    } finally {
      if (previous === undefined) delete process.env.EIGHT_BY_EIGHT_OAS_PATH;
      else process.env.EIGHT_BY_EIGHT_OAS_PATH = previous;
    }
  });
});

describe('8x8 simulator with OpenAPI validation', () => {
  let h: EightByEightHarness;

  beforeAll(async () => {
    h = await startHarness({ validateRequests: true });
  });
  afterAll(() => h.stop());

  it('records no violation for its own example flow, and records a wrong request', async () => {
    expect(h.simulator.validating).toBe(true);
    const { conversationId, webhookId, channelId } = await h.startConversation();
    const base = `/chat-gateway/v1/conversations/${conversationId}`;
    await h.request('POST', `${base}/messages`, { body: EXAMPLE_REQUESTS.messageWithCards });
    await h.request('POST', `${base}/messages`, { body: EXAMPLE_REQUESTS.messageWithExternalProvider });
    await h.request('POST', `${base}/typing`, { body: { authorType: 'bot' } });
    await h.request('POST', `${base}/thinking`, { body: { authorType: 'bot', maxThinkingTimeSeconds: 30 } });
    await h.request('POST', `${base}/read-receipt`, { body: { authorType: 'user', readAt: Date.now() } });
    await h.request('POST', `${base}/post-agent-assignment`, { body: EXAMPLE_REQUESTS.postAgentAssignment(webhookId) });
    await h.request('PATCH', base, { body: { user: { name: 'James J.' } } });
    await h.request('PUT', base, { body: { channelId, user: { name: 'James' }, assignment: { type: 'queue', id: '123' } } });
    const form = new FormData();
    form.append('attachment', new Blob([Buffer.from('x')]), 'x.txt');
    form.append('authorType', 'user');
    expect((await h.request('POST', `${base}/attachments`, { rawBody: form })).status).toBe(200);
    await h.request('GET', `${base}/messages?size=5&page=0&sort=createdAt:asc`);
    await h.request('GET', `${base}/participants`);
    await h.request('PATCH', `${base}/participants/user`, { body: { removed: true } });
    const clean = await fetch(`${h.baseUrl}/sim/oas-violations`);
    expect(await clean.json()).toEqual([]);

    await h.request('POST', `${base}/typing`, { body: { authorType: 'agent' } });
    await h.request('GET', '/chat-gateway/v1/agents');
    const violations = (await (await fetch(`${h.baseUrl}/sim/oas-violations`)).json()) as Array<{ operationId?: string; location: string; message: string }>;
    expect(violations.map((violation) => [violation.operationId, violation.location])).toEqual([
      ['sendtypingindicator', 'body'],
      [undefined, 'operation'],
    ]);
    expect((await fetch(`${h.baseUrl}/sim/oas-violations`, { method: 'DELETE' })).status).toBe(204);
    expect(h.simulator.oasViolations()).toEqual([]);
  });

  it('starts without the document unless validation was asked for', async () => {
    const lenient = new EightByEightSimulator({ oasDocumentPath: '/nonexistent/8x8.yml' });
    await expect(lenient.start()).resolves.toMatch(/^http:/);
    expect(lenient.validating).toBe(false);
    await lenient.stop();
    const strict = new EightByEightSimulator({ oasDocumentPath: '/nonexistent/8x8.yml', validateRequests: true });
    await expect(strict.start()).rejects.toThrow(/ENOENT/);
    await strict.stop();
  });
});
