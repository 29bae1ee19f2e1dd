import { Client } from 'pg';
import { ADMIN_KEY, resetState, startTestApp, TestApp } from '../support/test-app';

type Operation = { 'x-required-authority'?: string; 'x-public'?: boolean };

/** Walks every route of the OpenAPI document: 401 without a key, 403 without the authority, neither with it. */
describe('every route of the OpenAPI document enforces its authority', () => {
  let t: TestApp;
  let unprivilegedKey: string;

  beforeAll(async () => {
    await resetState();
    t = await startTestApp();
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    await db.query(`INSERT INTO roles (name, authorities) VALUES ('Nothing', '{}')`);
    await db.end();
    const created = await t.request('POST', '/v1/accounts', { body: { name: 'nobody', role: 'Nothing' } });
    expect(created.status).toBe(201);
    unprivilegedKey = created.body.apiKey.key;
  });

  afterAll(() => t.close());

  it('declares an authority (or public) on every operation and enforces it', async () => {
    const doc = (await t.request('GET', '/docs/openapi.json', { key: null })).body;
    const operations: [string, string, Operation][] = [];
    for (const [path, item] of Object.entries<Record<string, Operation>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) operations.push([method.toUpperCase(), path, op]);
    }
    expect(operations.length).toBeGreaterThan(15);
    const failures: string[] = [];
    for (const [method, template, op] of operations) {
      const path = template.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      if (op['x-public']) continue;
      if (!op['x-required-authority']) {
        failures.push(`${method} ${template}: declares no authority`);
        continue;
      }
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
      const none = await t.request(method, path, { key: null, body });
      if (none.status !== 401) failures.push(`${method} ${template} without a key: ${none.status}`);
      const lacking = await t.request(method, path, { key: unprivilegedKey, body });
      if (lacking.status !== 403) failures.push(`${method} ${template} without ${op['x-required-authority']}: ${lacking.status}`);
      const allowed = await t.request(method, path, { key: ADMIN_KEY, body, headersOnly: true });
      if (allowed.status === 401 || allowed.status === 403) failures.push(`${method} ${template} with the authority: ${allowed.status}`);
    }
    expect(failures).toEqual([]);
  });

  it('accepts the key as X-API-Key too', async () => {
    const res = await t.request('GET', '/v1/gateway-types', { key: null, headers: { 'x-api-key': ADMIN_KEY } });
    expect(res.status).toBe(200);
  });

  it('rejects a revoked key at once', async () => {
    const created = await t.request('POST', '/v1/accounts', { body: { name: 'short-lived', role: 'Global Gateway Service' } });
    const { key, id: keyId } = created.body.apiKey;
    expect((await t.request('GET', '/v1/domains', { key })).status).toBe(200);
    expect((await t.request('DELETE', `/v1/accounts/${created.body.id}/keys/${keyId}`)).status).toBe(204);
    expect((await t.request('GET', '/v1/domains', { key })).status).toBe(401);
  });
});
