import { send, SimulatorRouter } from '../http/simulator-http';
import { TeamsKeyService } from './teams-key.service';
import { TeamsTokenIssuer } from './teams-token.issuer';

/** The Bot Framework key service (OpenID metadata, JWK set) and the Entra token endpoint, on the simulator's origin. */
export function registerTeamsAuthRoutes(router: SimulatorRouter, keys: TeamsKeyService, tokens: TeamsTokenIssuer, baseUrl: () => string): void {
  router.on('GET', '/v1/.well-known/openidconfiguration', (_req, res) => send(res, 200, keys.openIdMetadata(baseUrl())));
  router.on('GET', '/v1/.well-known/keys', (_req, res) => send(res, 200, keys.jwks()));
  router.on('POST', '/:tenant/oauth2/v2.0/token', (req, res) => {
    const fields = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
    const tenant = req.params.tenant;
    const result = tokens.issue(fields, tenant, `${baseUrl()}/${tenant}/oauth2/v2.0/token`);
    send(res, result.status, result.body, 'application/json', { 'cache-control': 'no-store' });
  });
}
