import { Client } from 'pg';
import { FakePlatform } from '@app/simulators/fake/fake-platform';
import { resetState, startTestApp, TestApp } from '../support/test-app';

describe('gateway admin API', () => {
  let t: TestApp;
  const platform = new FakePlatform();

  const create = (overrides: Record<string, unknown> = {}, basic: Record<string, unknown> = {}) =>
    t.request('POST', '/v1/gateways', {
      body: {
        type: 'fake',
        settings: {
          basic: { name: 'fake-1', domain: 'acme', platformUrl: platform.baseUrl, apiToken: 'tok-secret-123', ...basic },
          configuration: {},
          additional: {},
          ...overrides,
        },
      },
    });

  beforeAll(async () => {
    await resetState();
    await platform.start();
    t = await startTestApp();
    expect((await t.request('POST', '/v1/domains', { body: { name: 'acme', callbackUrl: 'http://127.0.0.1:9/cb', signingSecret: 'whsec_' + 'a'.repeat(32) } })).status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await platform.stop();
  });

  it('lists types with kind, capabilities, schemas with defaults and secret fields', async () => {
    const res = await t.request('GET', '/v1/gateway-types');
    const fake = res.body.find((type: { type: string }) => type.type === 'fake');
    expect(fake.kind).toBe('escalation');
    expect(fake.capabilities).toContain('polling');
    expect(fake.settings.basic.secretFields).toEqual(['apiToken']);
    expect(Object.keys(fake.settings.basic.schema.properties)).toEqual(expect.arrayContaining(['name', 'domain', 'deployed', 'locale']));
    expect(fake.settings.basic.schema.properties.deployed.default).toBe(false);
    expect(fake.settings.additional.schema.properties.apiRetryMaxAttempts.default).toBe(5);
    expect(fake.settings.additional.schema.properties.apiRetryInitialDelayMs.default).toBe(4200);
  });

  it('creates a gateway with defaults applied and the secret masked, never stored in clear', async () => {
    const res = await create();
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body.settings.basic.apiToken).toBe('********');
    expect(res.body.settings.basic.deployed).toBe(false);
    expect(res.body.settings.basic.locale).toBe('en-US');
    expect(res.body.settings.additional.apiRetryMultiplier).toBe(2);
    expect(res.text).not.toContain('tok-secret-123');
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const { rows } = await db.query('SELECT settings::text AS s FROM gateways WHERE id = $1', [res.body.id]);
    await db.end();
    expect(rows[0].s).not.toContain('tok-secret-123');
  });

  it('rejects unknown fields and wrong types, naming each field', async () => {
    const res = await create({ additional: { pollIntervalMs: 'fast', bogus: 1 } }, { name: 'fake-bad' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    const fields = res.body.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['settings.additional.pollIntervalMs', 'settings.additional.bogus']));
  });

  it('refuses a link-local service URL', async () => {
    const res = await create({}, { name: 'fake-meta', platformUrl: 'http://169.254.169.254/latest' });
    expect(res.status).toBe(400);
    expect(res.body.details[0].field).toBe('settings.basic.platformUrl');
  });

  it('keeps an omitted secret on PATCH, audits the change with secrets masked, and detects concurrent edits', async () => {
    const created = await create({}, { name: 'fake-patch' });
    const id = created.body.id;
    const patched = await t.request('PATCH', `/v1/gateways/${id}`, {
      body: { settings: { additional: { pollIntervalMs: 500 } } },
      headers: { 'if-match': '"1"' },
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('etag')).toBe('"2"');
    expect(patched.body.settings.basic.apiToken).toBe('********');
    const stale = await t.request('PATCH', `/v1/gateways/${id}`, { body: { settings: { additional: { pollIntervalMs: 700 } } }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');

    const secret = await t.request('PATCH', `/v1/gateways/${id}`, { body: { settings: { basic: { apiToken: 'rotated-secret-456' } } } });
    expect(secret.status).toBe(200);
    const audit = await t.request('GET', `/v1/gateways/${id}/audit`);
    expect(audit.body.map((a: { action: string }) => a.action)).toEqual(['create', 'update', 'update']);
    expect(audit.body[1].fields).toEqual(['additional.pollIntervalMs']);
    expect(audit.body[1].changes['additional.pollIntervalMs']).toEqual({ from: 200, to: 500 });
    expect(audit.body[2].fields).toEqual(['basic.apiToken']);
    expect(audit.body[2].actor).toBe('gatewayservice');
    expect(audit.text).not.toContain('rotated-secret-456');
    expect(audit.text).not.toContain('tok-secret-123');
  });

  it('deploys, tests the connection, filters and pages the list, and deletes', async () => {
    const created = await create({}, { name: 'fake-deploy' });
    const id = created.body.id;
    const deployed = await t.request('POST', `/v1/gateways/${id}/deploy`);
    expect(deployed.status).toBe(200);
    expect(deployed.body.deployed).toBe(true);
    const test = await t.request('POST', `/v1/gateways/${id}/test`);
    expect(test.body).toMatchObject({ ok: true });
    const onlyDeployed = await t.request('GET', '/v1/gateways?deployed=true&domain=acme&type=fake');
    expect(onlyDeployed.body.items.map((g: { id: string }) => g.id)).toEqual([id]);
    const paged = await t.request('GET', '/v1/gateways?pageSize=1&page=2');
    expect(paged.body.items).toHaveLength(1);
    expect(paged.body.total).toBeGreaterThanOrEqual(3);
    expect((await t.request('POST', `/v1/gateways/${id}/undeploy`)).body.deployed).toBe(false);
    expect((await t.request('DELETE', `/v1/gateways/${id}`)).status).toBe(204);
    expect((await t.request('GET', `/v1/gateways/${id}`)).status).toBe(404);
  });

  it('reports a failing connection test without failing the request', async () => {
    const created = await create({}, { name: 'fake-down', platformUrl: 'http://127.0.0.1:9' });
    const test = await t.request('POST', `/v1/gateways/${created.body.id}/test`);
    expect(test.status).toBe(200);
    expect(test.body.ok).toBe(false);
  });
});
