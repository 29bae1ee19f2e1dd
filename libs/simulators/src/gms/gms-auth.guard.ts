import { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../http/simulator-http';
import { GmsEntraTokenIssuer } from './gms-entra-token.issuer';
import { GmsBasicAuthOptions } from './gms-simulator.options';

/** GMS's realm when `[server] realm` is not configured (GMS Basic Authentication). */
export const GMS_DEFAULT_REALM = 'Genesys Application Configuration Needed';

/**
 * Authentication of chat API calls: none, GMS Basic, or a bearer token from the simulated Entra endpoint. Both checks
 * are string comparisons or a map lookup, cheap enough for every refresh.
 */
export class GmsAuthGuard {
  private readonly expectedBasic?: string;

  constructor(
    private readonly basic?: GmsBasicAuthOptions,
    private readonly tokens?: GmsEntraTokenIssuer,
  ) {
    if (basic) this.expectedBasic = Buffer.from(`${basic.username}:${basic.password}`).toString('base64');
  }

  /** Throws the HTTP 401 the client would get; returns when the call may proceed. */
  check(headers: IncomingHttpHeaders): void {
    const authorization = headers.authorization;
    if (this.basic) this.checkBasic(authorization, this.basic.realm ?? GMS_DEFAULT_REALM);
    if (this.tokens) this.checkBearer(authorization);
  }

  private checkBasic(authorization: string | undefined, realm: string): void {
    if (authorization && authorization.length > 6 && authorization.slice(0, 6).toLowerCase() === 'basic ') {
      if (authorization.slice(6).trim() === this.expectedBasic) return;
    }
    throw new HttpError(401, { message: 'Unauthorized' }, 'application/json', {
      'www-authenticate': `Basic realm="${realm.replace(/"/g, '')}"`,
    });
  }

  private checkBearer(authorization: string | undefined): void {
    const result = this.tokens!.check(authorization);
    if (result === 'valid') return;
    const description = result === 'missing' ? 'Bearer token required' : result === 'expired' ? 'The token expired' : 'The token is not valid';
    const challenge = result === 'missing' ? 'Bearer' : `Bearer error="invalid_token", error_description="${description}"`;
    throw new HttpError(401, { error: result === 'missing' ? 'unauthorized' : 'invalid_token', error_description: description }, 'application/json', {
      'www-authenticate': challenge,
    });
  }
}
