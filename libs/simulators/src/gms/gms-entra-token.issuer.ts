import { createHmac, createPublicKey, constants as cryptoConstants, KeyObject, randomBytes, randomUUID, verify, X509Certificate } from 'node:crypto';
import { GmsBearerAuthOptions } from './gms-simulator.options';
import { EntraError, entraErrorBody } from '../http/entra-error';

/** An HTTP answer of the token endpoint: the token, or an Entra-shaped error. */
export interface GmsTokenEndpointResult {
  status: number;
  body: Record<string, unknown>;
}

/** Outcome of checking an `Authorization: Bearer` header. */
export type GmsBearerCheck = 'valid' | 'missing' | 'unknown' | 'expired';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Entra tolerates some clock skew on assertions; five minutes is the usual allowance. */
const CLOCK_SKEW_SECONDS = 300;


/**
 * The Microsoft Entra side of the gateway's "Microsoft Client Credentials" mode: an OIDC discovery document, a v2.0
 * token endpoint for the client-credentials grant (secret or certificate assertion), and the check of the bearer
 * tokens it issued. Error bodies follow Entra's shape (`error`, `error_description` starting with an AADSTS code,
 * `error_codes`, `timestamp`, `trace_id`, `correlation_id`); the AADSTS numbers are the ones Entra uses for the same
 * failures, to the best of public knowledge.
 */
export class GmsEntraTokenIssuer {
  /** Tokens issued since start, so a test can prove the client caches them. */
  tokensIssued = 0;
  private readonly tokens = new Map<string, number>();
  private readonly signingKey = randomBytes(32);
  private readonly publicKey?: KeyObject;
  private readonly thumbprints?: { x5t: string; x5tS256: string };
  private readonly lifetimeSeconds: number;

  constructor(private readonly options: GmsBearerAuthOptions) {
    this.lifetimeSeconds = options.tokenLifetimeSeconds ?? 3599;
    if (options.clientCertificate) {
      if (options.clientCertificate.includes('BEGIN CERTIFICATE')) {
        const certificate = new X509Certificate(options.clientCertificate);
        this.publicKey = certificate.publicKey;
        this.thumbprints = {
          x5t: hexToBase64Url(certificate.fingerprint),
          x5tS256: hexToBase64Url(certificate.fingerprint256),
        };
      } else {
        this.publicKey = createPublicKey(options.clientCertificate);
      }
    }
  }

  servesTenant(tenant: string): boolean {
    return !this.options.tenantId || this.options.tenantId === tenant;
  }

  /** `/{tenant}/v2.0/.well-known/openid-configuration`, with the fields MSAL insists on. */
  discoveryDocument(baseUrl: string, tenant: string): Record<string, unknown> {
    const issuer = `${baseUrl}/${tenant}/v2.0`;
    return {
      issuer,
      token_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/logout`,
      jwks_uri: `${baseUrl}/${tenant}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      grant_types_supported: ['client_credentials'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  /** Handles `POST /{tenant}/oauth2/v2.0/token` with its urlencoded body. */
  async issue(fields: Record<string, string>, baseUrl: string, tenant: string): Promise<GmsTokenEndpointResult> {
    try {
      if (!this.servesTenant(tenant)) {
        throw new EntraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
      }
      if (!fields.grant_type) {
        throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
      }
      if (fields.grant_type !== 'client_credentials') {
        throw new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${fields.grant_type}'.`);
      }
      if (!fields.client_id) {
        throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
      }
      if (fields.client_id !== this.options.clientId) {
        throw new EntraError(400, 'unauthorized_client', 700016, `Application with identifier '${fields.client_id}' was not found in the directory '${tenant}'.`);
      }
      this.checkScope(fields.scope);
      await this.authenticateClient(fields, `${baseUrl}/${tenant}/oauth2/v2.0/token`);
      return { status: 200, body: this.mint(baseUrl, tenant, fields.scope) };
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      return { status: error.status, body: entraErrorBody(error) };
    }
  }

  /** The hot-path check: a map lookup and a clock comparison, no crypto. */
  check(authorization: string | undefined, now = Date.now()): GmsBearerCheck {
    if (!authorization || authorization.length < 8 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return 'missing';
    const expiresAt = this.tokens.get(authorization.slice(7).trim());
    if (expiresAt === undefined) return 'unknown';
    return expiresAt > now ? 'valid' : 'expired';
  }

  purgeExpired(now = Date.now()): void {
    for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
  }

  /** Makes a token expire now (for tests of the client's refresh on 401). */
  expireAll(): void {
    for (const token of this.tokens.keys()) this.tokens.set(token, 0);
  }

  private checkScope(scope: string | undefined): void {
    if (!scope) throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    if (this.options.scope ? scope !== this.options.scope : !scope.endsWith('/.default')) {
      throw new EntraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
  }

  private async authenticateClient(fields: Record<string, string>, tokenEndpoint: string): Promise<void> {
    const hasSecret = fields.client_secret !== undefined;
    const hasAssertion = fields.client_assertion !== undefined;
    if (hasSecret && hasAssertion) {
      throw new EntraError(401, 'invalid_client', 7000218, 'Only one client credential may be presented: client_secret or client_assertion.');
    }
    if (!hasSecret && !hasAssertion) {
      throw new EntraError(401, 'invalid_client', 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.");
    }
    if (hasSecret) {
      if (!this.options.clientSecret || fields.client_secret !== this.options.clientSecret) {
        throw new EntraError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
      }
      return;
    }
    if (fields.client_assertion_type !== JWT_BEARER) {
      throw new EntraError(400, 'invalid_request', 50027, `client_assertion_type must be '${JWT_BEARER}'.`);
    }
    await this.verifyAssertion(fields.client_assertion, tokenEndpoint);
  }

  private async verifyAssertion(assertion: string, tokenEndpoint: string): Promise<void> {
    const parts = assertion.split('.');
    const header = parts.length === 3 ? decodeJson(parts[0]) : undefined;
    const claims = parts.length === 3 ? decodeJson(parts[1]) : undefined;
    if (!header || !claims) throw new EntraError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    if (this.publicKey) {
      const alg = String(header.alg);
      const valid = await verifySignature(alg, `${parts[0]}.${parts[1]}`, Buffer.from(parts[2], 'base64url'), this.publicKey);
      if (!valid) {
        throw new EntraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
      }
      const presented = (header['x5t#S256'] as string | undefined) ?? (header.x5t as string | undefined);
      const expected = header['x5t#S256'] ? this.thumbprints?.x5tS256 : this.thumbprints?.x5t;
      if (presented !== undefined && expected !== undefined && presented !== expected) {
        throw new EntraError(401, 'invalid_client', 700027, `Client assertion contains an invalid signature. Key was not found (thumbprint ${presented}).`);
      }
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== this.options.clientId || claims.sub !== this.options.clientId) {
      throw new EntraError(401, 'invalid_client', 700021, 'Client assertion application identifier does not match the client_id parameter (iss and sub must be the client id).');
    }
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audience.some((aud) => typeof aud === 'string' && stripSlash(aud) === stripSlash(tokenEndpoint))) {
      throw new EntraError(401, 'invalid_client', 700212, `Client assertion audience claim does not match the token endpoint '${tokenEndpoint}'.`);
    }
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_SECONDS < now) {
      throw new EntraError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range (expired or missing exp).');
    }
    if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > now) {
      throw new EntraError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range (not yet valid).');
    }
  }

  private mint(baseUrl: string, tenant: string, scope: string): Record<string, unknown> {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + this.lifetimeSeconds;
    const header = base64UrlJson({ typ: 'JWT', alg: 'HS256' });
    const payload = base64UrlJson({
      aud: scope.replace(/\/\.default$/, ''),
      iss: `${baseUrl}/${tenant}/v2.0`,
      iat: issuedAt,
      nbf: issuedAt,
      exp: expiresAt,
      azp: this.options.clientId,
      sub: this.options.clientId,
      tid: tenant,
      ver: '2.0',
      uti: randomUUID(),
    });
    const signature = createHmac('sha256', this.signingKey).update(`${header}.${payload}`).digest('base64url');
    const token = `${header}.${payload}.${signature}`;
    this.tokens.set(token, expiresAt * 1000);
    this.tokensIssued++;
    return { token_type: 'Bearer', expires_in: this.lifetimeSeconds, ext_expires_in: this.lifetimeSeconds, access_token: token };
  }
}

function verifySignature(alg: string, signingInput: string, signature: Buffer, key: KeyObject): Promise<boolean> {
  const data = Buffer.from(signingInput);
  const schemes: Record<string, { hash: string; key: Parameters<typeof verify>[2] }> = {
    RS256: { hash: 'sha256', key },
    RS384: { hash: 'sha384', key },
    RS512: { hash: 'sha512', key },
    PS256: { hash: 'sha256', key: { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST } },
    ES256: { hash: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' } },
  };
  const scheme = schemes[alg];
  if (!scheme) return Promise.resolve(false);
  // The callback form runs in the thread pool: no synchronous crypto on the event loop.
  return new Promise((resolve) => verify(scheme.hash, data, scheme.key, signature, (error, valid) => resolve(!error && valid)));
}


function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function hexToBase64Url(fingerprint: string): string {
  return Buffer.from(fingerprint.replace(/:/g, ''), 'hex').toString('base64url');
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
