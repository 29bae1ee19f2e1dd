import { resetState, startTestApp, TestApp } from '../support/test-app';
import { StreamReader, webchatGateway } from './webchat-setup';

/** The hosted page: served only when the gateway's hostedPage is on, with Web Chat from node_modules. */
describe('the hosted web chat page', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('is 404 while hostedPage is off, page and session included', async () => {
    const { gatewayId } = await webchatGateway(t);
    expect((await t.request('GET', `/webchat/${gatewayId}`, { key: null })).status).toBe(404);
    expect((await t.request('POST', `/webchat/${gatewayId}/session`, { key: null, body: {} })).status).toBe(404);
  });

  it('serves a page that loads Web Chat from this service, and a session whose token opens a stream', async () => {
    const { gatewayId } = await webchatGateway(t, { configuration: { hostedPage: true } });
    const page = await t.request('GET', `/webchat/${gatewayId}`, { key: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('<script src="/webchat/assets/webchat.js"></script>');
    expect(page.text).toContain('id="webchat"');

    const bundle = await fetch(`${t.url}/webchat/assets/webchat.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('cache-control')).toContain('max-age');
    expect((await bundle.text()).length).toBeGreaterThan(1_000_000);
    const cached = await fetch(`${t.url}/webchat/assets/webchat.js`, { headers: { 'if-none-match': bundle.headers.get('etag')! } });
    expect(cached.status).toBe(304);
    expect((await fetch(`${t.url}/webchat/assets/page.js`)).status).toBe(200);

    const session = await t.request('POST', `/webchat/${gatewayId}/session`, { key: null, body: { name: 'Ana' }, headers: { origin: t.url } });
    expect(session.status).toBe(200);
    expect(session.body).toEqual({
      conversationId: expect.any(String),
      token: expect.any(String),
      expires_in: 3600,
      userId: expect.stringMatching(/^dl_/),
      userName: 'Ana',
      domain: `${t.url}/webchat/${gatewayId}/v3/directline`,
    });
    // What Web Chat does next, from the page's origin.
    const start = await t.request('POST', `/webchat/${gatewayId}/v3/directline/conversations`, { key: session.body.token, headers: { origin: t.url } });
    expect(start.status).toBe(201);
    expect(start.headers.get('access-control-allow-origin')).toBe(t.url);
    const reader = new StreamReader(start.body.streamUrl, { origin: t.url });
    await reader.opened();
    reader.close();
    expect((await t.request('POST', `/webchat/${gatewayId}/session`, { key: null, body: {}, headers: { origin: 'https://evil.example.net' } })).status).toBe(403);
  });
});
