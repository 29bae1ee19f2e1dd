import { send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { applyFaults } from './gms-chat-api.routes';
import { GmsEntraTokenIssuer } from './gms-entra-token.issuer';
import { GmsFaultInjector } from './gms-fault.injector';
import { GmsRequestRecorder } from './gms-request.recorder';

/** Collaborators of the Entra-shaped routes. */
export interface GmsEntraRouteDependencies {
  issuer: GmsEntraTokenIssuer;
  faults: GmsFaultInjector;
  recorder: GmsRequestRecorder;
  scheme: 'http' | 'https';
}

/**
 * `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/discovery/v2.0/keys` and
 * `POST /{tenant}/oauth2/v2.0/token`, at the root like login.microsoftonline.com, so the gateway's "Authority" can
 * point at the simulator.
 */
export function registerEntraTokenRoutes(router: SimulatorRouter, deps: GmsEntraRouteDependencies): void {
  const baseUrl = (req: SimulatorRequest): string => `${deps.scheme}://${req.headers.host ?? 'localhost'}`;
  const unknownTenant = (tenant: string) => ({
    error: 'invalid_tenant',
    error_description: `AADSTS90002: Tenant '${tenant}' not found.`,
    error_codes: [90002],
  });

  router.on('GET', '/:tenant/v2.0/.well-known/openid-configuration', (req, res) => {
    const { tenant } = req.params;
    if (!deps.issuer.servesTenant(tenant)) return send(res, 400, unknownTenant(tenant));
    send(res, 200, deps.issuer.discoveryDocument(baseUrl(req), tenant));
  });

  router.on('GET', '/:tenant/discovery/v2.0/keys', (_req, res) => {
    // Issued tokens are checked by lookup, not by signature, so there is no key to publish.
    send(res, 200, { keys: [] });
  });

  router.on('POST', '/:tenant/oauth2/v2.0/token', async (req, res) => {
    deps.recorder.count('token');
    const match = deps.faults.take('token');
    if (match && (await applyFaults(match, req, res, deps.recorder))) return;
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.startsWith('application/x-www-form-urlencoded')) {
      return send(res, 400, {
        error: 'invalid_request',
        error_description: 'AADSTS900144: The request body must be application/x-www-form-urlencoded.',
        error_codes: [900144],
      });
    }
    const fields = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
    if (deps.recorder.capturing) {
      const { client_secret: secret, ...visible } = fields;
      deps.recorder.record({
        at: Date.now(),
        operation: 'token',
        path: req.path,
        headers: { ...req.headers },
        fields: secret === undefined ? visible : { ...visible, client_secret: '(redacted)' },
        userData: {},
        files: [],
      });
    }
    const result = await deps.issuer.issue(fields, baseUrl(req), req.params.tenant);
    send(res, result.status, result.body, 'application/json', { 'cache-control': 'no-store', pragma: 'no-cache' });
  });
}
