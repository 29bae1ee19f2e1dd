import { createPublicKey, KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { SimulatorClock } from '../clock/simulator-clock';
import { decodeJwt, sharedSigningKey, signJwt, verifyRs256 } from './teams-jwt';
import { TeamsBotRegistration } from './teams-simulator.types';
import { EntraError, entraErrorBody } from '../http/entra-error';

export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com/.default';
export const BOT_FRAMEWORK_AUDIENCE = 'https://api.botframework.com';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MULTI_TENANT = 'botframework.com';
/** Entra tolerates this much clock skew on client assertions. */
const SKEW_SECONDS = 300;

export interface TeamsTokenResult {
  status: number;
  body: Record<string, unknown>;
}

export type TeamsTokenFaultKind = 'invalid_client' | 'server_error';

/** Who a valid bearer token belongs to. */
export interface TeamsBotCaller {
  appId: string;
  tenant: string;
}


/**
 * The Entra token endpoint as a bot sees it (`POST /{tenant}/oauth2/v2.0/token`, client credentials with a secret or a
 * certificate assertion) and the check of the tokens it issued, which the Connector runs on every call. Tokens are
 * RS256 JWTs signed by a key of this simulator, with the claims the protocol notes list (`aud` api.botframework.com,
 * `iss` sts.windows.net/{tenant}/, `appid`).
 */
export class TeamsTokenIssuer {
  lifetimeSeconds: number;
  tokensIssued = 0;
  private readonly key = sharedSigningKey('entra-token', []);
  private readonly faults: { error: TeamsTokenFaultKind; remaining: number }[] = [];
  private readonly certificateKeys = new Map<string, KeyObject>();

  constructor(
    private readonly clock: SimulatorClock,
    private readonly bots: (appId: string) => TeamsBotRegistration | undefined,
    lifetimeSeconds = 3600,
  ) {
    this.lifetimeSeconds = lifetimeSeconds;
  }

  addFault(error: TeamsTokenFaultKind, count = 1): void {
    this.faults.push({ error, remaining: count });
  }

  issue(fields: Record<string, string>, tenant: string, tokenEndpointUrl: string): TeamsTokenResult {
    try {
      this.applyFault();
      if (fields.grant_type !== 'client_credentials') {
        throw new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${fields.grant_type ?? ''}'.`);
      }
      const bot = fields.client_id ? this.bots(fields.client_id) : undefined;
      if (!bot) {
        throw new EntraError(400, 'unauthorized_client', 700016, `Application with identifier '${fields.client_id ?? ''}' was not found in the directory '${tenant}'.`);
      }
      if (tenant !== bot.tenantId && !(bot.multiTenant && tenant === MULTI_TENANT)) {
        // A single-tenant bot asking another tenant: Entra does not know the app there.
        throw new EntraError(401, 'invalid_client', 700016, `Application with identifier '${bot.appId}' was not found in the directory '${tenant}'.`);
      }
      if (fields.scope !== BOT_FRAMEWORK_SCOPE) {
        throw new EntraError(400, 'invalid_scope', 1002012, `The provided value for scope ${fields.scope ?? ''} is not valid; a bot asks for ${BOT_FRAMEWORK_SCOPE}.`);
      }
      this.authenticate(bot, fields, tokenEndpointUrl);
      return { status: 200, body: this.mint(bot.appId, tenant) };
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      return { status: error.status, body: entraErrorBody(error, this.clock.now()) };
    }
  }

  /** The Connector's check of `Authorization`: the caller, or why it is refused. */
  check(authorization: string | undefined): TeamsBotCaller | { refused: string } {
    if (!authorization?.startsWith('Bearer ')) return { refused: 'Authorization header with a Bearer token is required' };
    const jwt = decodeJwt(authorization.slice(7).trim());
    if (!jwt || !verifyRs256(jwt, this.key.publicKey)) return { refused: 'The token was not issued by this token service' };
    const { aud, exp, appid, tid } = jwt.claims;
    if (aud !== BOT_FRAMEWORK_AUDIENCE) return { refused: `Token audience ${String(aud)} is not ${BOT_FRAMEWORK_AUDIENCE}` };
    if (typeof exp !== 'number' || exp * 1000 <= this.clock.now()) return { refused: 'The token has expired' };
    if (typeof appid !== 'string' || !this.bots(appid)) return { refused: `Bot ${String(appid)} is not registered` };
    return { appId: appid, tenant: String(tid) };
  }

  private applyFault(): void {
    const fault = this.faults[0];
    if (!fault) return;
    if (--fault.remaining <= 0) this.faults.shift();
    if (fault.error === 'server_error') throw new EntraError(500, 'server_error', 90033, 'A transient error has occurred. Please try again.');
    throw new EntraError(401, 'invalid_client', 7000215, 'Invalid client secret provided (injected fault).');
  }

  private authenticate(bot: TeamsBotRegistration, fields: Record<string, string>, tokenEndpointUrl: string): void {
    if (fields.client_secret !== undefined) {
      if (!bot.secret || fields.client_secret !== bot.secret) {
        throw new EntraError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
      }
      return;
    }
    if (fields.client_assertion === undefined) {
      throw new EntraError(401, 'invalid_client', 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.");
    }
    if (fields.client_assertion_type !== JWT_BEARER) {
      throw new EntraError(400, 'invalid_request', 50027, `client_assertion_type must be '${JWT_BEARER}'.`);
    }
    const publicKey = this.certificateKey(bot);
    const jwt = decodeJwt(fields.client_assertion);
    if (!jwt) throw new EntraError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    if (!publicKey || !verifyRs256(jwt, publicKey)) {
      throw new EntraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    }
    const { iss, sub, aud, exp, nbf } = jwt.claims;
    if (iss !== bot.appId || sub !== bot.appId) {
      throw new EntraError(401, 'invalid_client', 700021, 'Client assertion application identifier does not match the client_id parameter (iss and sub must be the client id).');
    }
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.some((value) => typeof value === 'string' && value.replace(/\/+$/, '') === tokenEndpointUrl)) {
      throw new EntraError(401, 'invalid_client', 700212, `Client assertion audience claim does not match the token endpoint '${tokenEndpointUrl}'.`);
    }
    const now = this.clock.now() / 1000;
    if (typeof exp !== 'number' || exp + SKEW_SECONDS < now || (typeof nbf === 'number' && nbf - SKEW_SECONDS > now)) {
      throw new EntraError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    }
  }

  private certificateKey(bot: TeamsBotRegistration): KeyObject | undefined {
    if (!bot.certificatePem) return undefined;
    let key = this.certificateKeys.get(bot.appId);
    if (!key) {
      key = bot.certificatePem.includes('BEGIN CERTIFICATE') ? new X509Certificate(bot.certificatePem).publicKey : createPublicKey(bot.certificatePem);
      this.certificateKeys.set(bot.appId, key);
    }
    return key;
  }

  private mint(appId: string, tenant: string): Record<string, unknown> {
    const now = Math.floor(this.clock.now() / 1000);
    const tenantId = tenant === MULTI_TENANT ? 'd6d49420-f39b-4df7-a1dc-d59a935871db' : tenant;
    const token = signJwt(
      {
        aud: BOT_FRAMEWORK_AUDIENCE,
        iss: `https://sts.windows.net/${tenantId}/`,
        iat: now,
        nbf: now,
        exp: now + this.lifetimeSeconds,
        appid: appId,
        appidacr: '1',
        idp: `https://sts.windows.net/${tenantId}/`,
        tid: tenantId,
        uti: randomUUID(),
        ver: '1.0',
      },
      this.key,
    );
    this.tokensIssued++;
    return { token_type: 'Bearer', expires_in: this.lifetimeSeconds, ext_expires_in: this.lifetimeSeconds, access_token: token };
  }
}

