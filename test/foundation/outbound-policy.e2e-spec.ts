import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Resolver } from '@app/gateway-sdk';
import { FakePlatform } from '@app/simulators/fake/fake-platform';
import { resetState, startTestApp, TestApp } from '../support/test-app';

/** Addresses the policy denies even where private networks are allowed, in the forms that used to pass. */
const DENIED_URLS = [
  'http://[64:ff9b::a9fe:a9fe]/latest/meta-data',
  'http://[::169.254.169.254]/latest/meta-data',
  'http://[fe90::1]/',
  'http://[ff02::1]/',
  'http://224.0.0.1/',
  'http://metadata.google.internal./computeMetadata/v1/',
];

describe('outbound URL policy at write time', () => {
  let t: TestApp;
  const platform = new FakePlatform();

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

  it.each(DENIED_URLS)('refuses the callback URL %s, naming the field', async (url) => {
    const created = await t.request('POST', '/v1/domains', { body: { name: `cb-${DENIED_URLS.indexOf(url)}`, callbackUrl: url, signingSecret: 'whsec_' + 'b'.repeat(32) } });
    expect(created.status).toBe(400);
    // The DTO's URL check already refuses a host name with a trailing dot; the policy refuses the rest.
    expect(created.body.details).toEqual([{ field: 'callbackUrl', message: expect.any(String) }]);
  });

  it.each(DENIED_URLS)('refuses the gateway service URL %s, naming the setting', async (url) => {
    const created = await t.request('POST', '/v1/gateways', {
      body: { type: 'fake', settings: { basic: { name: `fake-${DENIED_URLS.indexOf(url)}`, domain: 'acme', platformUrl: url }, configuration: {}, additional: {} } },
    });
    expect(created.status).toBe(400);
    expect(created.body.details).toEqual([{ field: 'settings.basic.platformUrl', message: expect.stringMatching(/link-local or reserved|metadata/) }]);
  });

  const eightByEight = (name: string, basic: Record<string, unknown>) =>
    t.request('POST', '/v1/gateways', {
      body: {
        type: '8x8-chat-gateway',
        settings: { basic: { name, domain: 'acme', baseUrl: 'https://api.8x8.example', apiKey: 'k', ...basic }, configuration: { defaultQueueId: '101' }, additional: {} },
      },
    });

  it("checks 8x8's JWK URL with {baseUrl} and a key id filled in, and refuses a key id that could choose the host", async () => {
    const cases: Array<[string, RegExp]> = [
      ['http://169.254.169.254/latest/{kid}', /link-local or reserved/],
      ['http://[64:ff9b::a9fe:a9fe]/jwk/{kid}', /link-local or reserved/],
      ['http://metadata.google.internal./{kid}', /metadata/],
      // {baseUrl} filled in: https://api.8x8.example@169.254.169.254/...
      ['{baseUrl}@169.254.169.254/{kid}', /credentials|link-local/],
      ['https://{kid}.keys.example/public', /must keep \{kid\} after the host/],
      ['https://keys.example/public', /must contain \{kid\}/],
    ];
    for (const [index, [template, message]] of cases.entries()) {
      const created = await eightByEight(`8x8-jwk-${index}`, { jwkUrlTemplate: template });
      expect([template, created.status]).toEqual([template, 400]);
      expect(created.body.details).toEqual([{ field: 'settings.basic.jwkUrlTemplate', message: expect.stringMatching(message) }]);
    }
    expect((await eightByEight('8x8-jwk-ok', { jwkUrlTemplate: 'https://keys.8x8.example/jwk/{kid}/public' })).status).toBe(201);
    expect((await eightByEight('8x8-jwk-default', {})).status).toBe(201);
  });

  it('checks every URL-valued setting of a type: the GMS token authority too', async () => {
    const created = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'genesys-pureengage',
        settings: {
          basic: { name: 'gms-authority', domain: 'acme', serviceUrl: 'https://gms.example', serviceName: 'chat', microsoftAuthority: 'https://metadata.google.internal./tenant' },
          configuration: {},
          additional: {},
        },
      },
    });
    expect(created.status).toBe(400);
    expect(created.body.details).toEqual([{ field: 'settings.basic.microsoftAuthority', message: expect.stringMatching(/metadata/) }]);
  });
});

describe('outbound URL policy at connect time', () => {
  let t: TestApp;
  let platform: Server;
  let port: number;
  const received: string[] = [];
  // platform.test names this test's server on the loopback, as a DNS record could; the machine's DNS does not know it.
  const resolve: Resolver = (hostname, _options, callback) =>
    hostname === 'platform.test' ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);

  beforeAll(async () => {
    await resetState();
    platform = createServer((req, res) => {
      received.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((done) => platform.listen(0, '127.0.0.1', done));
    port = (platform.address() as AddressInfo).port;
    t = await startTestApp({ OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'false' }, { resolve });
    expect((await t.request('POST', '/v1/domains', { body: { name: 'strict', callbackUrl: 'https://bot.example/cb', signingSecret: 'whsec_' + 'c'.repeat(32) } })).status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    platform.closeAllConnections();
    await new Promise((done) => platform.close(done));
  });

  it('does not let a gateway call a service URL whose host name resolves to a private address', async () => {
    const created = await t.request('POST', '/v1/gateways', {
      body: { type: 'fake', settings: { basic: { name: 'named', domain: 'strict', platformUrl: `http://platform.test:${port}` }, configuration: {}, additional: {} } },
    });
    // A name passes the write-time check: what it resolves to is judged when a connection is made.
    expect(created.status).toBe(201);
    const tested = await t.request('POST', `/v1/gateways/${created.body.id}/test`, { body: {} });
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ ok: false, detail: 'refused by the outbound policy: platform.test points at a private or loopback address' });
    expect(received).toEqual([]);
  });
});
