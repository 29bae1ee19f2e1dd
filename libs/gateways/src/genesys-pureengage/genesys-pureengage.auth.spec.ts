import { createPrivateKey } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTokenCache, OutboundHttpClient, Resolver, SettingsValues } from '@app/gateway-sdk';
import { GmsSimulator, ManualClock } from '@app/simulators/gms';
import { EntraTokenClient } from './entra-token.client';
import { GenesysPureEngageGateway } from './genesys-pureengage.gateway';
import { readGmsSettings } from './genesys-pureengage.settings';
import { escalationRequest, selfSigned, TestEscalation, testSettings, types } from './genesys-pureengage.spec-helpers';

const SERVICE = 'customer-support';

/**
 * Runs `work` with `Date` (only) reading `at`, standing still: token lifetimes and renewal, on both sides, are then
 * checked at a chosen moment instead of after a wait that a slow machine would stretch past the lifetime.
 */
async function withDateAt<T>(at: number, work: () => Promise<T>): Promise<T> {
  const timers = ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] as const;
  jest.useFakeTimers({ doNotFake: [...timers], now: at });
  try {
    return await work();
  } finally {
    jest.useRealTimers();
  }
}

describe('GenesysPureEngageGateway: GMS Basic authentication', () => {
  let gms: GmsSimulator;
  const gateway = new GenesysPureEngageGateway();

  beforeAll(async () => {
    gms = new GmsSimulator({ basicAuth: { username: 'amelia', password: 's3cret' }, captureRequests: true });
    await gms.start();
  });
  afterAll(() => gms.stop());

  const escalation = (basic: Record<string, unknown>) =>
    new TestEscalation(gateway, testSettings({ basic: { serviceUrl: gms.baseUrl, serviceName: SERVICE, ...basic } }));

  it('sends the configured credentials on every call', async () => {
    const esc = escalation({ basicAuthEnabled: true, basicAuthUsername: 'amelia', basicAuthPassword: 's3cret' });
    const chatId = String((await esc.start(escalationRequest())).session.chatId);
    gms.agentJoin(chatId);
    expect(types(await esc.poll())).toEqual(['agent_joined']);
    const expected = `Basic ${Buffer.from('amelia:s3cret').toString('base64')}`;
    const recorded = gms.requestLog().requests ?? [];
    expect(recorded.length).toBeGreaterThanOrEqual(2);
    for (const request of recorded) expect(request.headers.authorization).toBe(expected);
    await expect(gateway.checkConnection(esc.context())).resolves.toMatchObject({ ok: true });
  });

  it('reports refused credentials as auth_failed, and the probe says so', async () => {
    const wrong = escalation({ basicAuthEnabled: true, basicAuthUsername: 'amelia', basicAuthPassword: 'nope' });
    await expect(wrong.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed', status: 401 });
    await expect(gateway.checkConnection(wrong.context())).resolves.toEqual({ ok: false, detail: expect.stringMatching(/^authentication failed: HTTP 401/) });
    const none = escalation({ basicAuthEnabled: false, basicAuthUsername: 'amelia', basicAuthPassword: 's3cret' });
    await expect(none.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed' });
  });
});

describe('GenesysPureEngageGateway: Microsoft client credentials (MSAL, certificate) over HTTPS', () => {
  const tenant = 'contoso';
  const clientId = 'amelia-gateway';
  const scope = 'api://gms-proxy/.default';
  let server: { key: string; cert: string };
  let client: { key: string; cert: string };
  let other: { key: string; cert: string };
  let gms: GmsSimulator;
  // Stands still unless a test moves it: a latency fault holds its request until then.
  const clock = new ManualClock();
  const gateway = new GenesysPureEngageGateway();
  /** The service's outbound HTTP trusting the simulator's self-signed certificate. */
  let trusting: OutboundHttpClient;
  const overTls = (settings: SettingsValues, tokens?: MemoryTokenCache): TestEscalation => Object.assign(new TestEscalation(gateway, settings, tokens), { http: trusting });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gms-gateway-msal-'));
    server = selfSigned(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
    client = selfSigned(dir, 'gateway-client');
    other = selfSigned(dir, 'someone-else');
    gms = new GmsSimulator({ clock, tls: server, bearerAuth: { tenantId: tenant, clientId, clientCertificate: client.cert, scope }, captureRequests: true });
    await gms.start();
    trusting = new OutboundHttpClient({ allowPrivateNetworks: true, ca: server.cert });
  });
  afterAll(async () => {
    trusting.destroy();
    await gms.stop();
  });
  afterEach(() => gms.clearFaults());

  const msalSettings = (overrides: Record<string, unknown> = {}) =>
    testSettings({
      basic: {
        serviceUrl: gms.baseUrl,
        serviceName: SERVICE,
        microsoftAuthEnabled: true,
        microsoftAuthority: gms.authorityUrl(tenant),
        microsoftClientId: clientId,
        // Without "/.default": the gateway adds it, as the client-credentials grant requires.
        microsoftScope: 'api://gms-proxy',
        microsoftCertificatePem: `${client.cert}\n${client.key}`,
        ...overrides,
      },
    });

  it('obtains one token for many calls and keeps it in the keyed cache', async () => {
    const before = gms.tokensIssued;
    const tokens = new MemoryTokenCache();
    const esc = overTls(msalSettings(), tokens);
    const chatId = String((await esc.start(escalationRequest({ history: [{ author: 'user', text: 'hi', time: '2024-05-01T10:00:00Z' }] }))).session.chatId);
    gms.agentJoin(chatId);
    expect(types(await esc.poll())).toEqual(['agent_joined']);
    await gateway.sendTyping(esc.context(), true);
    await gateway.sendMessage(esc.context(), { id: 'm', text: 'hello' });
    await esc.poll();
    expect(gms.tokensIssued - before).toBe(1);
    const key = EntraTokenClient.cacheKey(readGmsSettings(esc.settings).microsoftAuth!);
    expect(key).toBe(`entra:${gms.authorityUrl(tenant)}|${clientId}|${scope}`);
    const cached = tokens.get(key)!;
    expect(cached.token).toBeTruthy();
    for (const request of (gms.requestLog().requests ?? []).filter((r) => r.chatId === chatId)) {
      expect(request.headers.authorization).toBe(`Bearer ${cached.token}`);
    }
    await expect(gateway.checkConnection(esc.context())).resolves.toMatchObject({ ok: true });
    expect(gms.tokensIssued - before).toBe(1);
  });

  it('renews a token the API no longer accepts, once, and goes on', async () => {
    const esc = overTls(msalSettings());
    await esc.start(escalationRequest());
    const before = gms.tokensIssued;
    gms.expireTokens();
    expect(await esc.poll()).toEqual([]);
    expect(gms.tokensIssued - before).toBe(1);
  });

  it('renews a token before it expires', async () => {
    const shortLived = new GmsSimulator({ tls: server, bearerAuth: { tenantId: tenant, clientId, clientCertificate: client.cert, scope, tokenLifetimeSeconds: 2 } });
    await shortLived.start();
    try {
      const settings = msalSettings({ serviceUrl: shortLived.baseUrl, microsoftAuthority: shortLived.authorityUrl(tenant) });
      const esc = overTls(settings);
      await esc.start(escalationRequest());
      expect(shortLived.tokensIssued).toBe(1);
      // Renewal is due at half the 2 s lifetime: 1.2 s on, the next call fetches a new token while the old one still works.
      await withDateAt(Date.now() + 1200, () => esc.poll());
      expect(shortLived.tokensIssued).toBe(2);
      // No request was refused and repeated: one Request Chat and one Refresh reached the API.
      expect(shortLived.requestLog().counts).toMatchObject({ requestChat: 1, refresh: 1 });
    } finally {
      await shortLived.stop();
    }
  });

  it('uses an encrypted private key with its password, and says what is wrong otherwise', async () => {
    const encrypted = createPrivateKey(client.key).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pem-pass' }).toString();
    const good = overTls(msalSettings({ microsoftCertificatePem: `${client.cert}\n${encrypted}`, microsoftPrivateKeyPassword: 'pem-pass' }));
    await expect(good.start(escalationRequest())).resolves.toBeDefined();

    const noPassword = overTls(msalSettings({ microsoftCertificatePem: `${client.cert}\n${encrypted}` }));
    await expect(noPassword.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('no password is set') });
    const wrongPassword = overTls(msalSettings({ microsoftCertificatePem: `${client.cert}\n${encrypted}`, microsoftPrivateKeyPassword: 'nope' }));
    await expect(wrongPassword.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('wrong Encrypted Private Key Password') });
    const mismatched = overTls(msalSettings({ microsoftCertificatePem: `${client.cert}\n${other.key}` }));
    await expect(mismatched.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('does not belong') });
  });

  it('reports a client Entra refuses as auth_failed', async () => {
    const unknownClient = overTls(msalSettings({ microsoftClientId: 'someone' }));
    await expect(unknownClient.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed' });
    const wrongCertificate = overTls(msalSettings({ microsoftCertificatePem: `${other.cert}\n${other.key}` }));
    await expect(wrongCertificate.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed' });
    const probe = await gateway.checkConnection(wrongCertificate.context());
    expect(probe).toMatchObject({ ok: false, detail: expect.stringMatching(/^access token not obtained/) });
  });

  it('gives up waiting for a token after the Obtain Access Token Timeout, as a transient failure', async () => {
    gms.injectFault({ kind: 'latency', operation: 'token', latencyMs: 1500 });
    const esc = overTls(msalSettings({ microsoftTokenTimeoutSeconds: 1 }));
    const issued = gms.tokensIssued;
    // The simulator's clock stands still, so the token answer cannot come first: the call gives up on its own.
    await expect(esc.start(escalationRequest())).rejects.toMatchObject({ code: 'transient', message: 'No access token within 1 s' });
    expect(gms.requestLog().faults.latency).toBe(1);
    expect(gms.tokensIssued).toBe(issued);
    // Let the simulator finish the delayed request now.
    clock.advance(1500);
  });

  it('treats a failing token endpoint as transient', async () => {
    gms.injectFault({ kind: 'http-error', operation: 'token', httpStatus: 503 });
    const esc = overTls(msalSettings());
    await expect(esc.start(escalationRequest())).rejects.toMatchObject({ code: 'transient', message: 'Token authority answered HTTP 503' });
  });

  it('refuses a non-https authority before any network call', async () => {
    const esc = overTls(msalSettings({ microsoftAuthority: 'http://login.example.com/contoso' }));
    await expect(esc.start(escalationRequest())).rejects.toMatchObject({ code: 'auth_failed', message: expect.stringContaining('https') });
  });

  it('asks a token authority only where the policy allows: one whose host name resolves to a private address is not asked', async () => {
    // login.test names the simulator's loopback address, as a DNS record could; the machine's DNS does not know it.
    const resolve: Resolver = (hostname, _options, callback) =>
      hostname === 'login.test' ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    const strict = new OutboundHttpClient({ allowPrivateNetworks: false, resolve, ca: server.cert });
    try {
      const before = gms.tokensIssued;
      const esc = overTls(msalSettings({ microsoftAuthority: gms.authorityUrl(tenant).replace('127.0.0.1', 'login.test') }));
      esc.http = strict;
      await expect(esc.start(escalationRequest())).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringContaining('Token authority refused by the outbound policy: login.test points at a private or loopback address'),
      });
      expect(gms.tokensIssued).toBe(before);
    } finally {
      strict.destroy();
    }
  });
});
