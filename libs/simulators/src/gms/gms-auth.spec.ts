import { execFileSync } from 'node:child_process';
import { constants, createHash, createPrivateKey, generateKeyPairSync, KeyObject, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GmsSimulator } from './gms-simulator';
import { postForm, TestGmsClient } from './gms-simulator.spec-helpers';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function assertion(privateKey: KeyObject, claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  const signature =
    header.alg === 'PS256'
      ? sign('sha256', Buffer.from(input), { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : sign('sha256', Buffer.from(input), privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

describe('GMS simulator Basic authentication', () => {
  let gms: GmsSimulator;
  beforeAll(async () => {
    gms = new GmsSimulator({ basicAuth: { username: 'gms', password: 's3cret' } });
    await gms.start();
  });
  afterAll(() => gms.stop());

  it('answers 401 with the GMS realm challenge without credentials, and creates no chat', async () => {
    const { status, headers } = await postForm(gms.chatServiceUrl(), { nickname: 'Jo' });
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toBe('Basic realm="Genesys Application Configuration Needed"');
    expect(gms.listChats()).toHaveLength(0);
  });

  it('answers 401 to a wrong password', async () => {
    const authorization = `Basic ${Buffer.from('gms:wrong').toString('base64')}`;
    expect((await postForm(gms.chatServiceUrl(), { nickname: 'Jo' }, { authorization })).status).toBe(401);
  });

  it('serves every call with the right credentials', async () => {
    const client = new TestGmsClient(gms.chatServiceUrl(), { authorization: `Basic ${Buffer.from('gms:s3cret').toString('base64')}` });
    expect((await client.requestChat()).body.statusCode).toBe(0);
    expect((await client.call('send', { message: 'hi' })).body.statusCode).toBe(0);
  });

  it('refuses basicAuth and bearerAuth together', () => {
    expect(() => new GmsSimulator({ basicAuth: { username: 'a', password: 'b' }, bearerAuth: { clientId: 'c', clientSecret: 'd' } })).toThrow(/one of them/);
  });
});

describe('GMS simulator bearer mode (Microsoft client credentials)', () => {
  const tenant = 'contoso-tenant';
  const clientId = '11111111-2222-3333-4444-555555555555';
  const scope = 'api://gms-proxy/.default';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let gms: GmsSimulator;
  let baseUrl: string;
  let tokenUrl: string;

  beforeAll(async () => {
    gms = new GmsSimulator({
      bearerAuth: { tenantId: tenant, clientId, clientSecret: 'client-secret', clientCertificate: publicKey.export({ type: 'spki', format: 'pem' }).toString(), scope },
    });
    baseUrl = await gms.start();
    tokenUrl = `${baseUrl}/${tenant}/oauth2/v2.0/token`;
  });
  afterAll(() => gms.stop());

  const validClaims = () => {
    const now = Math.floor(Date.now() / 1000);
    return { aud: tokenUrl, iss: clientId, sub: clientId, jti: randomUUID(), nbf: now, exp: now + 600 };
  };
  const requestToken = (fields: Record<string, string>) => postForm<Record<string, any>>(tokenUrl, { grant_type: 'client_credentials', client_id: clientId, scope, ...fields });

  it('publishes an OIDC discovery document naming the token endpoint', async () => {
    const response = await fetch(`${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`);
    const document = await response.json();
    expect(document).toMatchObject({ issuer: `${baseUrl}/${tenant}/v2.0`, token_endpoint: tokenUrl, jwks_uri: expect.any(String), authorization_endpoint: expect.any(String) });
  });

  it('issues a bearer token for the client secret, which the chat API then accepts', async () => {
    const before = gms.tokensIssued;
    const { status, body } = await requestToken({ client_secret: 'client-secret' });
    expect(status).toBe(200);
    expect(body).toEqual({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect(gms.tokensIssued).toBe(before + 1);
    const client = new TestGmsClient(gms.chatServiceUrl(), { authorization: `Bearer ${body.access_token}` });
    expect((await client.requestChat()).body.statusCode).toBe(0);
  });

  it('answers an Entra-shaped invalid_client to a wrong secret', async () => {
    const { status, body } = await requestToken({ client_secret: 'nope' });
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215], error_description: expect.stringMatching(/^AADSTS7000215:/) });
  });

  it.each([
    ['an unknown client', { client_id: 'someone-else', client_secret: 'client-secret' }, 400, 700016],
    ['another scope', { scope: 'api://other/.default', client_secret: 'client-secret' }, 400, 1002012],
    ['another grant type', { grant_type: 'password', client_secret: 'client-secret' }, 400, 70003],
    ['no credential', {}, 401, 7000216],
  ])('refuses %s', async (_what, fields, status, code) => {
    const response = await requestToken(fields as Record<string, string>);
    expect(response.status).toBe(status);
    expect(response.body.error_codes).toEqual([code]);
  });

  it('refuses an unknown tenant', async () => {
    const { status, body } = await postForm<Record<string, any>>(`${baseUrl}/other-tenant/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: clientId, scope, client_secret: 'client-secret' });
    expect(status).toBe(400);
    expect(body.error_codes).toEqual([90002]);
  });

  it.each(['RS256', 'PS256'])('issues a token for a %s client assertion signed with the registered key', async (alg) => {
    const { status, body } = await requestToken({ client_assertion_type: JWT_BEARER, client_assertion: assertion(privateKey, validClaims(), { alg, typ: 'JWT' }) });
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
  });

  it('refuses an assertion signed with another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const { status, body } = await requestToken({ client_assertion_type: JWT_BEARER, client_assertion: assertion(other, validClaims()) });
    expect(status).toBe(401);
    expect(body.error_codes).toEqual([700027]);
  });

  it.each([
    ['for another audience', { aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' }, 700212],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 3600 }, 700024],
    ['issued by another client', { iss: 'someone', sub: 'someone' }, 700021],
  ])('refuses an assertion %s', async (_what, override, code) => {
    const { status, body } = await requestToken({ client_assertion_type: JWT_BEARER, client_assertion: assertion(privateKey, { ...validClaims(), ...override }) });
    expect(status).toBe(401);
    expect(body.error_codes).toEqual([code]);
  });

  it('the chat API answers 401 without a token, with an unknown token and with an expired one', async () => {
    expect((await postForm(gms.chatServiceUrl(), { nickname: 'Jo' })).status).toBe(401);
    const unknown = await postForm(gms.chatServiceUrl(), { nickname: 'Jo' }, { authorization: 'Bearer made.up.token' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toContain('invalid_token');
    const token = (await requestToken({ client_secret: 'client-secret' })).body.access_token as string;
    expect((await postForm(gms.chatServiceUrl(), { nickname: 'Jo' }, { authorization: `Bearer ${token}` })).status).toBe(200);
    gms.expireTokens();
    const expired = await postForm(gms.chatServiceUrl(), { nickname: 'Jo' }, { authorization: `Bearer ${token}` });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: 'invalid_token', error_description: 'The token expired' });
  });

  it('counts tokens over the control API too', async () => {
    const response = await fetch(`${baseUrl}/sim/tokens`);
    expect(await response.json()).toEqual({ issued: gms.tokensIssued });
  });
});

describe('GMS simulator bearer mode with an X.509 certificate', () => {
  let certificatePem: string;
  let privateKey: KeyObject;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'gms-cert-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=gms-client'], { stdio: 'ignore' });
    certificatePem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    privateKey = createPrivateKey(readFileSync(join(dir, 'key.pem'), 'utf8'));
  });

  it('checks the x5t#S256 thumbprint against the registered certificate', async () => {
    const gms = new GmsSimulator({ bearerAuth: { clientId: 'app', clientCertificate: certificatePem } });
    const baseUrl = await gms.start();
    try {
      const tokenUrl = `${baseUrl}/any-tenant/oauth2/v2.0/token`;
      const now = Math.floor(Date.now() / 1000);
      const claims = { aud: tokenUrl, iss: 'app', sub: 'app', jti: randomUUID(), nbf: now, exp: now + 600 };
      const thumbprint = createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('base64url');
      const fields = (x5t: string) => ({
        grant_type: 'client_credentials',
        client_id: 'app',
        scope: 'api://gms/.default',
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion(privateKey, claims, { alg: 'PS256', typ: 'JWT', 'x5t#S256': x5t }),
      });
      expect((await postForm(tokenUrl, fields(thumbprint))).status).toBe(200);
      const wrong = await postForm<Record<string, any>>(tokenUrl, fields(Buffer.alloc(32).toString('base64url')));
      expect(wrong.status).toBe(401);
      expect(wrong.body.error_codes).toEqual([700027]);
    } finally {
      await gms.stop();
    }
  });
});

