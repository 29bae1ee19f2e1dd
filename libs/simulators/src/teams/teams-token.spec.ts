import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { ManualClock } from '../clock/simulator-clock';
import { TeamsSimulator } from './teams-simulator';
import { APP_ID, APP_SECRET, connector, decodePart, postForm, TENANT_ID } from './teams-simulator.spec-helpers';

const SCOPE = 'https://api.botframework.com/.default';

function assertion(privateKey: Parameters<typeof sign>[2], claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

describe('Teams simulator token endpoint', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 10, 9, 0, 0));
  const certificate = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const CERT_APP = 'cert-bot-app';
  let teams: TeamsSimulator;

  beforeEach(async () => {
    teams = new TeamsSimulator({ clock });
    await teams.start();
    teams.registerBot({ appId: APP_ID, secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: 'http://127.0.0.1:9/api/messages' });
    teams.registerBot({
      appId: CERT_APP,
      certificatePem: certificate.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      tenantId: TENANT_ID,
      messagingEndpoint: 'http://127.0.0.1:9/api/messages',
    });
  });
  afterEach(() => teams.stop());

  const secretForm = (overrides: Record<string, string> = {}) => ({ grant_type: 'client_credentials', client_id: APP_ID, client_secret: APP_SECRET, scope: SCOPE, ...overrides });

  it('issues a Bearer token with the Bot Framework audience, the tenant issuer and the app id for the right secret', async () => {
    const { status, body } = await postForm(teams.tokenEndpoint(TENANT_ID), secretForm());
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600 });
    const claims = decodePart(body.access_token, 1);
    expect(claims).toMatchObject({ aud: 'https://api.botframework.com', iss: `https://sts.windows.net/${TENANT_ID}/`, appid: APP_ID });
    expect(claims.exp - claims.nbf).toBe(3600);
    expect(decodePart(body.access_token, 0).alg).toBe('RS256');
    expect(teams.tokenEndpointTemplate).toBe(`${teams.baseUrl}/{tenant}/oauth2/v2.0/token`);
  });

  it('answers 401 invalid_client in the OAuth error format for a bad secret and for a single-tenant bot asked on another tenant', async () => {
    const badSecret = await postForm(teams.tokenEndpoint(TENANT_ID), secretForm({ client_secret: 'wrong' }));
    expect(badSecret.status).toBe(401);
    expect(badSecret.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(badSecret.body.error_description).toMatch(/^AADSTS7000215: /);
    const otherTenant = await postForm(teams.tokenEndpoint('botframework.com'), secretForm());
    expect(otherTenant.status).toBe(401);
    expect(otherTenant.body.error).toBe('invalid_client');
  });

  it('refuses another scope and another grant type', async () => {
    expect((await postForm(teams.tokenEndpoint(TENANT_ID), secretForm({ scope: 'api://other/.default' }))).body.error).toBe('invalid_scope');
    expect((await postForm(teams.tokenEndpoint(TENANT_ID), secretForm({ grant_type: 'password' }))).body.error).toBe('unsupported_grant_type');
  });

  it('accepts a client assertion signed by the registered certificate key with aud = the token endpoint, and refuses other signers', async () => {
    const endpoint = teams.tokenEndpoint(TENANT_ID);
    const now = Math.floor(clock.now() / 1000);
    const claims = { aud: endpoint, iss: CERT_APP, sub: CERT_APP, jti: randomUUID(), nbf: now, exp: now + 600 };
    const form = (clientAssertion: string) => ({
      grant_type: 'client_credentials',
      client_id: CERT_APP,
      scope: SCOPE,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    });
    const accepted = await postForm(endpoint, form(assertion(certificate.privateKey, claims)));
    expect(accepted.status).toBe(200);
    expect(decodePart(accepted.body.access_token, 1).appid).toBe(CERT_APP);

    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect((await postForm(endpoint, form(assertion(stranger.privateKey, claims)))).body.error_codes).toEqual([700027]);
    expect((await postForm(endpoint, form(assertion(certificate.privateKey, { ...claims, aud: 'https://login.microsoftonline.com/x' })))).body.error_codes).toEqual([700212]);
    expect((await postForm(endpoint, form(assertion(certificate.privateKey, { ...claims, exp: now - 3600 })))).body.error_codes).toEqual([700024]);
    expect((await postForm(endpoint, form(assertion(certificate.privateKey, { ...claims, iss: 'someone' })))).status).toBe(401);
  });

  it('injects invalid_client and server_error for the next requests only', async () => {
    teams.tokenFault({ error: 'server_error' });
    teams.tokenFault({ error: 'invalid_client', count: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await postForm(teams.tokenEndpoint(TENANT_ID), secretForm())).status);
    expect(statuses).toEqual([500, 401, 401, 200]);
  });

  it('issues tokens of the configured lifetime, which the Connector refuses once expired', async () => {
    teams.setTokenLifetime(120);
    const { body } = await postForm(teams.tokenEndpoint(TENANT_ID), secretForm());
    expect(body.expires_in).toBe(120);
    expect((await connector(teams, body.access_token, 'GET', 'v3/conversations/a:nothing/members')).status).toBe(404);
    clock.advance(120_000);
    const expired = await connector(teams, body.access_token, 'GET', 'v3/conversations/a:nothing/members');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('Unauthorized');
  });
});
