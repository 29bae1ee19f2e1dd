import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app.factory';
import { AppLogger } from '../../src/common/app-logger';
import { loadConfig } from '../../src/config/app-config';
import { MetricsListener } from '../../src/metrics/metrics-listener';
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

  it('serves /metrics on the API port only to a key holding metrics:read', async () => {
    const keyOf = async (name: string, role: string) => {
      const created = await t.request('POST', '/v1/accounts', { body: { name, role } });
      expect(created.status).toBe(201);
      return created.body.apiKey.key as string;
    };
    const anonymous = await t.request('GET', '/metrics', { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain(HTTP_SERIES);
    const observer = await t.request('GET', '/metrics', { key: await keyOf('metrics-observer', 'Observer') });
    expect(observer.status).toBe(403);
    expect(observer.body.message).toContain('metrics:read');
    const reader = await t.request('GET', '/metrics', { key: await keyOf('prometheus', 'Metrics Reader') });
    expect(reader.status).toBe(200);
    expect(reader.text).toContain(HTTP_SERIES);
  });

  it('serves /metrics without a key on METRICS_PORT, in a worker process too, and nothing else there', async () => {
    const config = loadConfig({ ...process.env, APP_ROLE: 'worker', METRICS_PORT: '0' });
    const worker = await createApp(config, new AppLogger(config.LOG_LEVEL));
    await worker.init();
    try {
      const base = `http://127.0.0.1:${worker.get(MetricsListener).port()}`;
      const scraped = await fetch(`${base}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toContain('text/plain');
      expect(await scraped.text()).toMatch(/chat_gateway_queue_jobs\{queue="escalations",state="waiting"\} \d+/);
      for (const path of ['/', '/v1/domains', '/metrics/x', '/queues/']) {
        const other = await fetch(base + path, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        await other.arrayBuffer();
        expect([path, other.status]).toEqual([path, 404]);
      }
    } finally {
      await worker.close();
    }
  });
});
