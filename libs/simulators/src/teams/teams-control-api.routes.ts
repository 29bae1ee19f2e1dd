import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { TeamsControlError } from './teams-conversation.store';
import type { TeamsSimulator } from './teams-simulator';
import { INBOUND_FAULTS, InboundFault } from './teams-simulator.types';

export const TEAMS_CONTROL_PATH = '/control';

/**
 * The JSON control API under `/control/`: the simulator's methods for tests in another process, the console page and
 * a person with curl. Never authenticated: it is a local test tool.
 */
export function registerTeamsControlRoutes(router: SimulatorRouter, teams: TeamsSimulator): void {
  const on = (method: string, path: string, action: (req: SimulatorRequest, body: Record<string, any>) => unknown, status = 200) =>
    router.on(method, `${TEAMS_CONTROL_PATH}${path}`, async (req, res) => {
      try {
        const result = await action(req, parseJson(req));
        send(res, result === undefined ? 204 : status, result);
      } catch (error) {
        if (error instanceof TeamsControlError) return send(res, error.status, { message: error.message });
        if (error instanceof HttpError) return send(res, error.status, error.body);
        throw error;
      }
    });
  const { appId, userId } = { appId: (req: SimulatorRequest) => req.params.appId, userId: (req: SimulatorRequest) => req.params.userId };

  on('GET', '/status', () => ({
    baseUrl: teams.baseUrl,
    openIdMetadataUrl: teams.openIdMetadataUrl,
    tokenEndpointTemplate: teams.tokenEndpointTemplate,
    serviceUrl: teams.serviceUrl(),
    bots: [...teams.store.bots.values()].map(({ secret: _secret, certificatePem: _certificate, ...bot }) => bot),
    users: teams.users(),
    memberships: teams.memberships(),
    tokensIssued: teams.tokensIssued,
    connectorFaults: teams.pendingConnectorFaults(),
  }));
  on('POST', '/bots', (_req, body) => teams.registerBot(body as never), 201);
  on('GET', '/users', () => teams.users());
  on('POST', '/users', (_req, body) => teams.addUser(body as never), 201);

  on('POST', '/bots/:appId/users/:userId/install', (req, body) => teams.install(appId(req), userId(req), { region: body.region }));
  on('POST', '/bots/:appId/users/:userId/uninstall', (req) => teams.uninstall(appId(req), userId(req)));
  on('POST', '/bots/:appId/users/:userId/block', (req, body) => teams.block(appId(req), userId(req), body.shape));
  on('POST', '/bots/:appId/users/:userId/unblock', (req) => teams.unblock(appId(req), userId(req)));
  on('POST', '/bots/:appId/users/:userId/region', (req, body) => teams.moveRegion(appId(req), userId(req), required(body, 'region')));
  on('POST', '/bots/:appId/users/:userId/say', (req, body) =>
    teams.say(appId(req), userId(req), required(body, 'text'), { fault: fault(body.fault), html: body.html === true, id: body.id }),
  );
  on('POST', '/bots/:appId/users/:userId/submit', (req, body) => teams.submitCard(appId(req), userId(req), (body.value ?? {}) as Record<string, unknown>, { replyToId: body.replyToId }));
  on('POST', '/bots/:appId/users/:userId/read-receipt', (req, body) => teams.readReceipt(appId(req), userId(req), required(body, 'lastReadMessageId')));
  on('GET', '/bots/:appId/users/:userId/conversation', (req) => {
    const conversationId = teams.conversationOf(appId(req), userId(req));
    if (!conversationId) throw new TeamsControlError(404, 'No conversation between this bot and user');
    return { conversationId, transcript: teams.transcript(conversationId) };
  });
  on('POST', '/bots/:appId/activities', (req, body) => teams.postActivity(appId(req), (body.activity ?? {}) as Record<string, unknown>, { fault: fault(body.fault), headers: body.headers }));
  on('POST', '/bots/:appId/admin-disable', (req, body) => teams.disableByAdmin(appId(req), required(body, 'tenantId'), body.on !== false));

  on('GET', '/conversations/:conversationId/transcript', (req) => teams.transcript(req.params.conversationId));
  on('POST', '/connector-faults', (_req, body) => teams.addConnectorFault(body as never), 201);
  on('DELETE', '/connector-faults', () => teams.clearConnectorFaults());
  on('POST', '/token-faults', (_req, body) => teams.tokenFault(body as never), 201);
  on('POST', '/token-lifetime', (_req, body) => teams.setTokenLifetime(Number(required(body, 'seconds'))));
  on('POST', '/rate-limit', (_req, body) => teams.setRateLimit(body.on !== false, body.limits));
  on('POST', '/keys/rotate', (_req, body) => ({ kid: teams.rotateKeys({ keepOld: body.keepOld }) }));
  on('GET', '/requests', () => ({ connector: teams.connectorRequests, inbound: teams.inboundDeliveries }));
}

function parseJson(req: SimulatorRequest): Record<string, any> {
  if (req.body.length === 0) return {};
  try {
    return JSON.parse(req.body.toString('utf8')) as Record<string, any>;
  } catch {
    throw new TeamsControlError(400, 'The body must be JSON');
  }
}

function required(body: Record<string, any>, name: string): string {
  if (body[name] === undefined || body[name] === '') throw new TeamsControlError(400, `${name} is required`);
  return String(body[name]);
}

function fault(value: unknown): InboundFault | undefined {
  if (value === undefined) return undefined;
  if (!INBOUND_FAULTS.includes(value as InboundFault)) throw new TeamsControlError(400, `fault must be one of ${INBOUND_FAULTS.join(', ')}`);
  return value as InboundFault;
}
