import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildOpenApi } from '../../src/app.factory';
import { resetState, startTestApp, TestApp } from '../support/test-app';

describe('openapi.json', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startTestApp({ DOCS_UI_ENABLED: 'false' });
  });
  afterAll(() => t.close());

  it('is what the code generates (run `npm run openapi` after changing the API)', () => {
    const committed = JSON.parse(readFileSync(resolve(__dirname, '../../openapi.json'), 'utf8'));
    expect(JSON.parse(JSON.stringify(buildOpenApi(t.app)))).toEqual(committed);
  });

  it('is served at /docs/openapi.json and documents the shared error body', async () => {
    const res = await t.request('GET', '/docs/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.components.schemas.ErrorBodyDto.required).toEqual(expect.arrayContaining(['statusCode', 'code', 'message', 'correlationId']));
  });

  it("describes every operation's answer: a schema for each 2xx with a body, 204 for none", () => {
    const document = JSON.parse(JSON.stringify(buildOpenApi(t.app))) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
    const undescribed: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
        if (success.length === 0) undescribed.push(`${method.toUpperCase()} ${path}: no 2xx answer`);
        for (const [status, response] of success) {
          if (status === '204') continue;
          const schemas = Object.values(response.content ?? {}).filter((media) => media.schema);
          if (schemas.length === 0) undescribed.push(`${method.toUpperCase()} ${path}: ${status} without a schema`);
        }
      }
    }
    expect(undescribed).toEqual([]);
    // Every reference resolves (a model named only inside another's map is not found by the scanner on its own).
    const schemas = (document as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(20);
    expect([...new Set(refs)].filter((name) => !(name in schemas))).toEqual([]);
    // Spot checks of what the schemas name.
    expect(document.paths['/v1/domains/{id}'].patch.responses['200'].content!['application/json'].schema).toEqual({ $ref: '#/components/schemas/DomainDto' });
    expect(document.paths['/v1/escalations/{id}'].get.responses['200'].content!['application/json'].schema).toEqual({ $ref: '#/components/schemas/EscalationDetailDto' });
  });
});
