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
});
