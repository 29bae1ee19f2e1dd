import { randomBytes } from 'node:crypto';
import { ADMIN_KEY, resetState, startTestApp, TestApp } from '../support/test-app';

const HTTP_SERIES = 'chat_gateway_http_request_duration_seconds';

/** The HTTP series of a scrape (name and labels, without values): what a request can add to. */
function httpSeries(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((line) => line.startsWith(HTTP_SERIES))
      .map((line) => line.slice(0, line.lastIndexOf(' '))),
  );
}

describe('metrics', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startTestApp();
  });

  afterAll(() => t.close());

  const scrape = async () => {
    const res = await t.request('GET', '/metrics', { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    return res.text;
  };

  it('adds no series for requests to unknown paths with any method, however many', async () => {
    // Methods Node's HTTP parser accepts, WebDAV's included; fetch refuses CONNECT, TRACE and TRACK itself.
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'PURGE'];
    const paths: ((random: string) => string)[] = [
      (r) => `/${r}`,
      (r) => `/v1/${r}`,
      (r) => `/v1/escalations/${r}/nothing`,
      (r) => `/queues/${r}`,
      (r) => `/queues/api/${r}`,
      (r) => `/docs/${r}`,
      (r) => `/v1/webhooks/${r}/more`,
    ];
    const bodies: (string | undefined)[] = [undefined, '{"valid": "json"}', '{"malformed'];
    const send = async (method: string, path: string, body: string | undefined) => {
      const withBody = body !== undefined && !['GET', 'HEAD'].includes(method);
      const res = await fetch(t.url + path, { method, body: withBody ? body : undefined, headers: withBody ? { 'content-type': 'application/json' } : {} });
      await res.arrayBuffer();
    };
    const random = () => randomBytes(6).toString('hex');

    // Every kind of request once, so that what stays is what the same kinds add again with other paths.
    for (const method of methods) for (const path of paths) for (const body of bodies) await send(method, path(random()), body);
    await scrape();
    const before = httpSeries(await scrape());

    for (let i = 0; i < 300; i++) {
      const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
      await send(pick(methods), pick(paths)(random()), pick(bodies));
    }
    await scrape();
    const after = httpSeries(await scrape());
    expect([...after].filter((series) => !before.has(series))).toEqual([]);
  }, 60_000);
});
