import { request as httpRequest } from 'node:http';
import { escalationBody, fakeGateway, fakeSuite } from '../escalations/fake-setup';
import { waitFor } from '../support/bot-receiver';
import { FuzzCase, fuzzCases, OpenApiDocument } from '../support/openapi-fuzz';
import { ADMIN_KEY } from '../support/test-app';

/** Sends one case as it is (no client-side normalization of the path or body); answers the status. */
function send(base: URL, fuzz: FuzzCase): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = fuzz.body === undefined ? undefined : Buffer.isBuffer(fuzz.body) ? fuzz.body : Buffer.from(fuzz.body, 'utf8');
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: fuzz.method,
        path: fuzz.path,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...fuzz.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        // A stream that opened is an answer; its status is all that is needed.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, body: '' });
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Every operation of the OpenAPI document, sent malformed path, query and header parameters and bodies (seeded,
 * so the same requests every run): none may answer 5xx. Bad input is the caller's fault and gets a 4xx naming what is
 * wrong; a 5xx would page an operator for it, and may mean the input reached somewhere it should not.
 */
describe('malformed requests against every documented operation', () => {
  const suite = fakeSuite({});
  const { platform, receiver } = suite;

  it('answer 4xx or 2xx, never 5xx', async () => {
    const t = suite.t;
    const { domainId, gatewayId, domain } = await fakeGateway(t, platform, receiver);
    const started = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, 'fuzz'), headers: { 'idempotency-key': 'fuzz' } });
    await waitFor('platform session', () => platform.sessionFor(started.body.id));
    const account = await t.request('POST', '/v1/accounts', { body: { name: 'fuzz-victim', role: 'Observer' } });
    const ids: Record<string, string> = {
      '/v1/accounts/{id}': account.body.id,
      '/v1/domains/{id}': domainId,
      '/v1/gateways/{id}': gatewayId,
      '/v1/escalations/{id}': started.body.id,
      '/v1/conversations/{id}': started.body.conversationId,
    };
    const doc = (await t.request('GET', '/docs/openapi.json')).body as OpenApiDocument;
    const cases = fuzzCases(doc, {
      seed: 20261207,
      perOperation: 60,
      realPath: (method, template) => {
        // Made-up ids only where a real one would delete what the other cases need.
        if (method === 'delete' && /^\/v1\/(domains|gateways)\/\{id\}$/.test(template)) return undefined;
        let path = template;
        for (const [prefix, id] of Object.entries(ids)) if (path.startsWith(prefix)) path = path.replace('{id}', id);
        path = path
          .replace('{keyId}', account.body.apiKey.id)
          .replace('{gatewayId}', gatewayId)
          .replace('{seq}', '1')
          .replace('{email}', 'grace%40example.com');
        return /\{/.test(path) ? undefined : path;
      },
    });
    const operations = new Set(cases.map((fuzz) => fuzz.operation));
    expect(operations.size).toBe(Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0));
    expect(cases.length).toBeGreaterThan(operations.size * 20);

    const base = new URL(t.url);
    const failures: string[] = [];
    for (const fuzz of cases) {
      const { status, body } = await send(base, fuzz);
      if (status >= 500 || status === 0) failures.push(`${fuzz.operation} [${fuzz.what}]: ${status} ${body}`);
    }
    expect(failures).toEqual([]);
    // The service still serves afterwards.
    expect((await t.request('GET', '/health/ready')).status).toBe(200);
  }, 180_000);
});
