import { resetState, startTestApp, TestApp } from '../support/test-app';

describe('error bodies', () => {
  let t: TestApp;
  beforeAll(async () => {
    await resetState();
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const expectErrorBody = (body: Record<string, unknown>, status: number) => {
    expect(body).toMatchObject({ statusCode: status, code: expect.any(String), message: expect.any(String), correlationId: expect.any(String) });
  };

  it('answers malformed JSON with 400', async () => {
    const res = await t.request('POST', '/v1/domains', { raw: '{"name": ' });
    expect(res.status).toBe(400);
    expectErrorBody(res.body, 400);
    expect(res.body.code).toBe('malformed_json');
  });

  it('answers a body over 1 MiB with 413', async () => {
    const res = await t.request('POST', '/v1/domains', { body: { name: 'big', description: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expectErrorBody(res.body, 413);
  });

  it('names unknown fields and wrong types', async () => {
    const res = await t.request('POST', '/v1/domains', { body: { name: 42, colour: 'blue' } });
    expect(res.status).toBe(400);
    const fields = res.body.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'colour']));
  });

  it('echoes the caller correlation id', async () => {
    const res = await t.request('GET', '/v1/domains/not-a-uuid', { headers: { 'x-correlation-id': 'trace-123' } });
    expect(res.status).toBe(400);
    expect(res.body.correlationId).toBe('trace-123');
    expect(res.headers.get('x-correlation-id')).toBe('trace-123');
  });

  it('answers unknown routes with 404 in the same shape', async () => {
    const res = await t.request('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expectErrorBody(res.body, 404);
  });

  it('never answers 5xx for a body of the wrong JSON type', async () => {
    const res = await t.request('POST', '/v1/domains', { raw: '[1,2,3]' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('refuses a body nested deeper than 64 levels with a 400 naming the body', async () => {
    for (const raw of ['['.repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(65) + '1' + '}'.repeat(65)]) {
      const res = await t.request('POST', '/v1/domains', { raw });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'body', message: 'nests deeper than 64 levels' }]);
    }
    // 64 levels are still read (and refused for what they say, not how deep they are).
    const deepest = await t.request('POST', '/v1/domains', { raw: '{"a":'.repeat(63) + '1' + '}'.repeat(63) });
    expect(deepest.status).toBe(400);
    expect(deepest.body.details).toEqual(expect.arrayContaining([{ field: 'a', message: 'property a should not exist' }]));
  });

  it('names each malformed path parameter', async () => {
    const account = await t.request('POST', '/v1/accounts', { body: { name: 'param-names', role: 'Observer' } });
    const cases: [string, string, string][] = [
      ['GET', '/v1/escalations/x', 'id'],
      ['GET', '/v1/escalations/00000000-0000-4000-8000-000000000000/attachments/x', 'attachmentId'],
      ['DELETE', `/v1/accounts/${account.body.id}/keys/x`, 'keyId'],
      ['GET', '/v1/conversations/1e30', 'id'],
    ];
    for (const [method, path, field] of cases) {
      const res = await t.request(method, path);
      expect([path, res.status, res.body.details]).toEqual([path, 400, [{ field, message: 'must be a UUID' }]]);
    }
    const nul = await t.request('DELETE', '/v1/domains/00000000-0000-4000-8000-000000000000/agents/a%00b');
    expect(nul.status).toBe(400);
    expect(nul.body.details).toEqual([{ field: 'email', message: 'has a NUL character or an unpaired UTF-16 surrogate, which cannot be stored' }]);
  });

  it('refuses query values a number or a time conversion would take but the database would not', async () => {
    for (const from of ['0', '-1', '1.5', '2026', '2026-02-30']) {
      const res = await t.request('GET', `/v1/escalations?from=${from}`);
      expect([from, res.status, res.body.details]).toEqual([from, 400, [{ field: 'from', message: 'must be an ISO-8601 date or date-time, e.g. 2026-11-22T10:00:00Z' }]]);
    }
    const repeated = await t.request('GET', '/v1/escalations?to=2026-11-22&to=2026-11-23');
    expect(repeated.status).toBe(400);
    expect([...new Set(repeated.body.details.map((d: { field: string }) => d.field))]).toEqual(['to']);
    for (const page of ['1e30', '1.5', '0', '100001']) {
      const res = await t.request('GET', `/v1/gateways?page=${page}`);
      expect([page, res.status, [...new Set(res.body.details.map((d: { field: string }) => d.field))]]).toEqual([page, 400, ['page']]);
    }
    const state = await t.request('GET', '/v1/escalations?state=queued,nonsense');
    expect(state.status).toBe(400);
    expect(state.body.details.map((d: { field: string }) => d.field)).toEqual(['state']);
    const good = await t.request('GET', '/v1/escalations?state=queued,active&from=2026-11-22T10:00:00Z&to=2026-11-23&page=2&pageSize=5');
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ page: 2, pageSize: 5, items: [] });
  });
});
