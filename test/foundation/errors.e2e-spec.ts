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
});
