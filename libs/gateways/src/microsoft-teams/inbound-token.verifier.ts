import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { GatewayError, GatewayLogger, TokenCache } from '@app/gateway-sdk';
import { issuerMetadataUrl, serviceUrlProblem, TeamsSettings } from './microsoft-teams.settings';
import { BotActivity } from './microsoft-teams.types';

/** The issuer of the Bot Connector's tokens (Bot Connector authentication, "Connector to bot"). */
export const BOT_CONNECTOR_ISSUER = 'https://api.botframework.com';

const ALGORITHMS: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };

/** An RSA signing key of a key set, as cached (JWK members the checks need). */
interface SigningKey {
  kid: string;
  n: string;
  e: string;
  endorsements?: string[];
}

/** What the verifier needs around it. */
export interface InboundTokenContext {
  tokens: TokenCache;
  logger: GatewayLogger;
  /** GETs a JSON document (OpenID metadata, key set) under the service's outbound policy. */
  getJson(url: string): Promise<unknown>;
}

/** What a valid token said. */
export interface AcceptedToken {
  issuer: string;
  kid: string;
}

/**
 * Checks the bearer token the Bot Connector sends with every activity, as the Bot Connector authentication document
 * lays down: Bearer scheme (case-sensitive, as botbuilder), RS256/384/512 signature by a key of the issuer's key set
 * (found through its OpenID metadata, cached for Signing Key Cache hours in the token cache, fetched again when a kid
 * is unknown, at most once per Unknown Key Refresh Interval), `iss`, `aud` = app id, `nbf`/`exp` with the clock skew,
 * `serviceurl` = the activity's serviceUrl, the key's endorsements naming the activity's channel, and the service URL
 * on the allow-list (the bot token will be sent there). Every refusal is `auth_failed` naming the failed check; a
 * key set that cannot be fetched now is `transient`, so the Connector's retry can succeed.
 */
export class InboundTokenVerifier {
  constructor(
    private readonly settings: TeamsSettings,
    private readonly ctx: InboundTokenContext,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(headers: Record<string, string | undefined>, activity: BotActivity): Promise<AcceptedToken> {
    const authorization = header(headers, 'authorization');
    if (!authorization) throw refused('no Authorization header');
    if (!authorization.startsWith('Bearer ')) throw refused('the Authorization scheme is not "Bearer"');
    const parts = authorization.slice('Bearer '.length).trim().split('.');
    if (parts.length !== 3 || parts.some((part) => part === '')) throw refused('the bearer token is not a signed JWT');
    const jwtHeader = decode(parts[0], 'header');
    const claims = decode(parts[1], 'payload');
    const hash = ALGORITHMS[String(jwtHeader.alg)];
    if (!hash) throw refused(`alg ${String(jwtHeader.alg)} is not RS256, RS384 or RS512`);
    if (typeof jwtHeader.kid !== 'string' || jwtHeader.kid === '') throw refused('the token header has no kid');
    const kid = jwtHeader.kid;
    // The issuer first: it decides whose keys may have signed the token.
    const issuer = claims.iss;
    const metadataUrl = this.metadataUrlOf(issuer);
    const key = await this.signingKey(metadataUrl, kid);
    const signed = verify(hash, Buffer.from(`${parts[0]}.${parts[1]}`), importedKey(key), Buffer.from(parts[2], 'base64url'));
    if (!signed) throw refused(`bad signature (key ${kid})`);
    this.checkAudience(claims.aud);
    this.checkLifetime(claims);
    const serviceUrl = activity.serviceUrl;
    if (typeof serviceUrl !== 'string' || serviceUrl === '') throw refused('the activity has no serviceUrl');
    // Entra-issued tokens (extra issuers) may not carry the claim; the Bot Connector's always do.
    if (issuer === BOT_CONNECTOR_ISSUER || claims.serviceurl !== undefined) {
      if (claims.serviceurl !== serviceUrl) throw refused('the serviceurl claim does not match the activity\'s serviceUrl');
    }
    if (key.endorsements && key.endorsements.length > 0 && !key.endorsements.includes(String(activity.channelId))) {
      throw refused(`the signing key is not endorsed for channel ${String(activity.channelId)}`);
    }
    const problem = serviceUrlProblem(serviceUrl, this.settings.serviceUrlHosts);
    if (problem) throw refused(problem);
    this.ctx.logger.debug('Teams inbound token accepted', { issuer, kid });
    return { issuer: issuer as string, kid };
  }

  private metadataUrlOf(issuer: unknown): string {
    if (issuer === BOT_CONNECTOR_ISSUER) return this.settings.openIdMetadataUrl;
    if (typeof issuer === 'string' && this.settings.extraTrustedIssuers.includes(issuer)) return issuerMetadataUrl(issuer);
    throw refused(`issuer ${JSON.stringify(String(issuer)).slice(0, 200)} is not trusted`);
  }

  private checkAudience(aud: unknown): void {
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(this.settings.appId)) throw refused('the audience is not this bot\'s app id');
  }

  private checkLifetime(claims: Record<string, unknown>): void {
    const now = this.now() / 1000;
    const skew = this.settings.clockSkewSeconds;
    if (typeof claims.exp !== 'number') throw refused('the token has no exp');
    if (now > claims.exp + skew) throw refused('the token has expired (exp)');
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now + skew < claims.nbf)) throw refused('the token is not valid yet (nbf)');
  }

  /**
   * The key with this kid. A kid missing from the cached set makes the set be fetched again, but only once per refresh
   * interval: the first fetch (nothing cached) does not count, so a rotation right after it is still picked up.
   */
  private async signingKey(metadataUrl: string, kid: string): Promise<SigningKey> {
    const cacheKey = `teams:jwks:${metadataUrl}`;
    const cached = this.ctx.tokens.get(cacheKey);
    let refresh = false;
    if (cached) {
      const found = (JSON.parse(cached.token) as SigningKey[]).find((key) => key.kid === kid);
      if (found) return found;
      if (this.ctx.tokens.get(refreshKeyOf(metadataUrl))) throw refused(`unknown signing key ${kid} (the key set was refreshed less than the refresh interval ago)`);
      this.ctx.logger.info('Teams token signed by an unknown key; fetching the key set again', { kid, metadataUrl });
      refresh = true;
    }
    const keys = await this.fetchKeys(metadataUrl, cacheKey, refresh);
    const found = keys.find((key) => key.kid === kid);
    if (!found) throw refused(`unknown signing key ${kid}`);
    return found;
  }

  private fetchKeys(metadataUrl: string, cacheKey: string, refresh: boolean): Promise<SigningKey[]> {
    let pending = fetching.get(cacheKey);
    if (!pending) {
      // Marked before the fetch: deliveries naming other unknown kids meanwhile wait for this one instead of fetching.
      if (refresh) this.ctx.tokens.set(refreshKeyOf(metadataUrl), '1', this.now() + this.settings.keySetRefreshMinIntervalMs);
      pending = this.loadKeys(metadataUrl, cacheKey).finally(() => fetching.delete(cacheKey));
      fetching.set(cacheKey, pending);
    }
    return pending;
  }

  private async loadKeys(metadataUrl: string, cacheKey: string): Promise<SigningKey[]> {
    const metadata = (await this.ctx.getJson(metadataUrl)) as { jwks_uri?: unknown } | null;
    const jwksUri = metadata?.jwks_uri;
    if (typeof jwksUri !== 'string' || jwksUri === '') throw unavailable(`the OpenID metadata at ${metadataUrl} has no jwks_uri`);
    const set = (await this.ctx.getJson(jwksUri)) as { keys?: unknown } | null;
    if (!Array.isArray(set?.keys)) throw unavailable(`the key set at ${jwksUri} has no keys`);
    // Keys without RSA n/e (or a kid) cannot check these tokens: left out, as botbuilder does.
    const keys: SigningKey[] = (set.keys as Record<string, unknown>[])
      .filter((jwk) => jwk && jwk.kty === 'RSA' && typeof jwk.n === 'string' && typeof jwk.e === 'string' && typeof jwk.kid === 'string')
      .map((jwk) => ({
        kid: jwk.kid as string,
        n: jwk.n as string,
        e: jwk.e as string,
        ...(Array.isArray(jwk.endorsements) ? { endorsements: jwk.endorsements.filter((item): item is string => typeof item === 'string') } : {}),
      }));
    const now = this.now();
    this.ctx.tokens.set(cacheKey, JSON.stringify(keys), now + this.settings.keySetCacheMs);
    this.ctx.logger.debug('Teams signing keys fetched', { metadataUrl, kids: keys.map((key) => key.kid) });
    return keys;
  }
}

function refreshKeyOf(metadataUrl: string): string {
  return `teams:jwks-refreshed:${metadataUrl}`;
}

/** Key-set fetches in flight, shared by the deliveries that need the same set meanwhile. */
const fetching = new Map<string, Promise<SigningKey[]>>();

/** Imported public keys by kid and modulus: public, so one small process-wide map; spares an RSA import per request. */
const importedKeys = new Map<string, KeyObject>();

function importedKey(key: SigningKey): KeyObject {
  const memo = `${key.kid}\u0000${key.n}\u0000${key.e}`;
  let imported = importedKeys.get(memo);
  if (!imported) {
    try {
      imported = createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' });
    } catch (error) {
      throw refused(`signing key ${key.kid} is not a usable RSA key: ${(error as Error).message}`);
    }
    if (importedKeys.size >= 256) importedKeys.clear();
    importedKeys.set(memo, imported);
  }
  return imported;
}

function decode(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw refused(`the token ${what} is not JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw refused(`the token ${what} is not an object`);
  return value as Record<string, unknown>;
}

/** A header by name, whatever case the receiving server kept. */
export function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  if (headers[name] !== undefined) return headers[name];
  const found = Object.keys(headers).find((key) => key.toLowerCase() === name);
  return found === undefined ? undefined : headers[found];
}

function refused(check: string): GatewayError {
  return new GatewayError('auth_failed', `Teams request refused: ${check}`, { status: 401 });
}

function unavailable(message: string): GatewayError {
  return new GatewayError('transient', `Teams signing keys unavailable: ${message}`);
}
