import { randomUUID, sign } from 'node:crypto';
import { GatewayError, OutboundRefused, TokenCallContext } from '@app/gateway-sdk';
import { BotCredential, TeamsSettings } from './microsoft-teams.settings';


/** A token is renewed this long before it expires (at most half its lifetime), so no call carries a dying token. */
const RENEW_BEFORE_MS = 5 * 60_000;
/** Lifetime of a client assertion: Entra only needs it for the one request. */
const ASSERTION_SECONDS = 600;

/**
 * The bot's own Bot Connector token: the OAuth 2.0 client-credentials grant at the token endpoint of the bot's token
 * tenant, with the app password or a certificate-signed client assertion (private_key_jwt). Tokens live only in the
 * context's cache, keyed by (tenant, app id, scope), and are renewed 5 minutes before they expire; callers asking for
 * the same key while one is being fetched share that fetch.
 */
export class BotTokenClient {
  static cacheKey(settings: TeamsSettings): string {
    return `teams:bot-token:${settings.tokenTenant}|${settings.appId}|${settings.tokenScope}`;
  }

  /** A valid token from the cache, or a new one. */
  async token(ctx: TokenCallContext, settings: TeamsSettings): Promise<string> {
    const key = BotTokenClient.cacheKey(settings);
    const cached = ctx.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    let pending = inFlight.get(key);
    if (!pending) {
      pending = this.acquire(ctx, settings, key).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  /** Forgets the cached token (the Connector refused it). */
  invalidate(ctx: TokenCallContext, settings: TeamsSettings): void {
    ctx.tokens.delete(BotTokenClient.cacheKey(settings));
  }

  private async acquire(ctx: TokenCallContext, settings: TeamsSettings, key: string): Promise<string> {
    const credential = settings.credential();
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: settings.appId, scope: settings.tokenScope });
    if (credential.method === 'secret') form.set('client_secret', credential.secret);
    else {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', clientAssertion(credential, settings.appId, settings.tokenEndpoint));
    }
    const requestedAt = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await ctx.http.fetch(settings.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(settings.requestTimeoutMs)]),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      if (error instanceof OutboundRefused) throw new GatewayError('invalid_request', `Token endpoint refused by the outbound policy: ${error.message}`, { cause: error });
      throw new GatewayError('transient', `Token endpoint unreachable: ${describe(error)}`, { cause: error });
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // An HTML error page from a proxy: the status says enough.
    }
    if (!response.ok) {
      const error = typeof body.error === 'string' ? body.error : undefined;
      // Only the first line of the description: Entra's carry trace ids and timestamps after it, never the secret.
      const description = typeof body.error_description === 'string' ? body.error_description.split(/\r?\n/)[0].slice(0, 300) : '';
      const message = `Token endpoint answered HTTP ${response.status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''}`;
      if (response.status === 429 || response.status === 408 || response.status >= 500) throw new GatewayError('transient', message, { status: response.status });
      // invalid_client, unauthorized_client, invalid_scope...: the settings are wrong, an operator must fix them.
      throw new GatewayError('auth_failed', message, { status: response.status });
    }
    const token = body.access_token;
    const expiresIn = Number(body.expires_in);
    if (typeof token !== 'string' || token === '') throw new GatewayError('auth_failed', 'The token endpoint returned no access_token');
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 3600_000;
    // Counted from before the request: the token cannot outlive what Entra meant.
    const expiresAt = requestedAt + lifetimeMs;
    ctx.tokens.set(key, token, expiresAt - Math.min(RENEW_BEFORE_MS, lifetimeMs / 2));
    ctx.logger.debug('obtained a Bot Connector token', { tenant: settings.tokenTenant, appId: settings.appId, expiresAt: new Date(expiresAt).toISOString() });
    return token;
  }
}

/** Token fetches in flight by cache key. */
const inFlight = new Map<string, Promise<string>>();

/**
 * A client assertion (Microsoft identity platform certificate credentials): an RS256 JWT naming the certificate by its
 * SHA-1 thumbprint (x5t), for the token endpoint as audience, issued by and about the app.
 */
export function clientAssertion(credential: Extract<BotCredential, { method: 'certificate' }>, appId: string, audience: string, now = Date.now()): string {
  const seconds = Math.floor(now / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5t: credential.thumbprintSha1.toString('base64url') };
  const claims = { aud: audience, iss: appId, sub: appId, jti: randomUUID(), nbf: seconds, iat: seconds, exp: seconds + ASSERTION_SECONDS };
  const signingInput = `${base64url(header)}.${base64url(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), credential.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
