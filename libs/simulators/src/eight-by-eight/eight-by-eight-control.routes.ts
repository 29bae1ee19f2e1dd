import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { contentDisposition } from './eight-by-eight-api.routes';
import type { EightByEightSimulator } from './eight-by-eight-simulator';
import { METRICS_BASE_PATH } from './eight-by-eight-metrics.routes';

type Json = Record<string, unknown>;

function body(req: SimulatorRequest): Json {
  if (req.body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(req.body.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // fall through to the 400
  }
  throw new HttpError(400, { message: 'The body must be a JSON object' });
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, { message: `${name} must be a string` });
  return value;
}

/** The control routes, one per simulator method; listed by `GET /sim`. */
export const CONTROL_ROUTES: Array<[string, string, string]> = [
  ['GET', '/sim', 'this index'],
  ['GET', '/sim/conversations', 'waiting (per queue), active and ended conversations'],
  ['GET', '/sim/conversations/:id', 'one conversation: user, history, messages, attachments, assignment, state'],
  ['POST', '/sim/conversations/:id/accept', '{agentId?, agentName?}'],
  ['POST', '/sim/conversations/:id/typing', '{typing: boolean}'],
  ['POST', '/sim/conversations/:id/messages', '{text?, cards?}'],
  ['POST', '/sim/conversations/:id/files', '{fileName, contentBase64, mimeType?, text?}'],
  ['POST', '/sim/conversations/:id/transfer', '{queueId, queueName?}'],
  ['POST', '/sim/conversations/:id/leave', 'agent leaves or closes'],
  ['POST', '/sim/conversations/:id/activity', '{name, value}'],
  ['GET', '/sim/deliveries', '?conversationId=&eventType='],
  ['GET', '/sim/keys', 'current kid and all kids'],
  ['POST', '/sim/keys/rotate', 'new signing key'],
  ['PUT', '/sim/webhooks/:id/event-format', '{format: chat-gateway-v1 | legacy-v2}'],
  ['GET', '/sim/settings', 'runtime settings'],
  ['PUT', '/sim/settings', '{eventFormat?, retryDelaysMs?, orderedDelivery?, webhookTimeoutMs?}'],
  ['GET', '/sim/queues', 'queues with agent counts and metrics'],
  ['PUT', '/sim/queues/:queueId', '{name?, agents?: {available, busy, wrapUp, onBreak, workingOffline, loggedOut}, metrics?}'],
  ['POST', '/sim/oauth/expire-tokens', 'invalidate metrics bearer tokens'],
  ['GET', '/sim/faults', 'armed faults'],
  ['POST', '/sim/faults/http', '{kind: error | rate-limit | latency, status?, retryAfterSeconds?, latencyMs?, count?, path?, method?}'],
  ['POST', '/sim/faults/webhooks', '{kind: duplicate | out-of-order, count?}'],
  ['DELETE', '/sim/faults', 'disarm all faults'],
  ['GET', '/sim/oas-violations', 'requests that departed from 8x8 OpenAPI document'],
  ['DELETE', '/sim/oas-violations', 'forget them'],
  ['POST', '/sim/reset', 'forget all state'],
  ['GET', '/sim/files/:token/:fileName', 'pre-signed attachment download (no API key)'],
];

/**
 * The JSON control API for tests and people (no authentication: the simulator is a local tool). Each route calls
 * the simulator method of the same name, so the HTTP and the in-process paths cannot drift apart.
 */
export function registerControlRoutes(router: SimulatorRouter, simulator: EightByEightSimulator): void {
  const json = (method: string, path: string, handler: (req: SimulatorRequest) => unknown, status = 200) =>
    router.on(method, path, (req, res) => {
      const result = handler(req);
      send(res, result === undefined ? 204 : status, result);
    });

  json('GET', '/sim', () => ({
    baseUrl: simulator.baseUrl,
    tenantId: simulator.tenantId,
    customerId: simulator.customerId,
    validating: simulator.validating,
    metricsBasePath: METRICS_BASE_PATH,
    routes: CONTROL_ROUTES.map(([method, path, description]) => ({ method, path, description })),
  }));

  json('GET', '/sim/conversations', () => simulator.listConversations());
  json('GET', '/sim/conversations/:id', (req) => simulator.getConversation(req.params.id));
  json('POST', '/sim/conversations/:id/accept', (req) => {
    const input = body(req);
    return simulator.acceptConversation(req.params.id, { agentId: optionalString(input.agentId, 'agentId'), agentName: optionalString(input.agentName, 'agentName') });
  });
  json('POST', '/sim/conversations/:id/typing', (req) => {
    const typing = body(req).typing;
    if (typeof typing !== 'boolean') throw new HttpError(400, { message: 'typing must be a boolean' });
    simulator.setAgentTyping(req.params.id, typing);
  });
  json('POST', '/sim/conversations/:id/messages', (req) => {
    const input = body(req);
    return simulator.sendAgentMessage(req.params.id, { text: optionalString(input.text, 'text'), cards: input.cards as never });
  }, 201);
  json('POST', '/sim/conversations/:id/files', (req) => {
    const input = body(req);
    return simulator.sendAgentFile(req.params.id, {
      fileName: optionalString(input.fileName, 'fileName') ?? '',
      contentBase64: optionalString(input.contentBase64, 'contentBase64') ?? '',
      mimeType: optionalString(input.mimeType, 'mimeType'),
      text: optionalString(input.text, 'text'),
    });
  }, 201);
  json('POST', '/sim/conversations/:id/transfer', (req) => {
    const input = body(req);
    return simulator.transferConversation(req.params.id, { queueId: optionalString(input.queueId, 'queueId') ?? '', queueName: optionalString(input.queueName, 'queueName') });
  });
  json('POST', '/sim/conversations/:id/leave', (req) => simulator.leaveConversation(req.params.id));
  json('POST', '/sim/conversations/:id/activity', (req) => {
    const input = body(req);
    simulator.sendActivity(req.params.id, optionalString(input.name, 'name') ?? 'typing', input.value ?? {});
  });

  json('GET', '/sim/deliveries', (req) =>
    simulator.deliveries({ conversationId: req.query.get('conversationId') ?? undefined, eventType: req.query.get('eventType') ?? undefined }),
  );
  json('GET', '/sim/keys', () => ({ current: simulator.signingKeys.currentKid, kids: simulator.signingKeys.kids }));
  json('POST', '/sim/keys/rotate', () => ({ kid: simulator.rotateSigningKey() }));
  json('PUT', '/sim/webhooks/:id/event-format', (req) => simulator.setWebhookEventFormat(req.params.id, body(req).format as never));
  json('GET', '/sim/settings', () => simulator.configure({}));
  json('PUT', '/sim/settings', (req) => simulator.configure(body(req)));

  json('GET', '/sim/queues', () => [...simulator.repository.queues.values()]);
  json('PUT', '/sim/queues/:queueId', (req) => simulator.setQueue(req.params.queueId, body(req)));
  json('POST', '/sim/oauth/expire-tokens', () => simulator.expireTokens());

  json('GET', '/sim/faults', () => simulator.listFaults());
  json('POST', '/sim/faults/http', (req) => simulator.injectHttpFault(body(req) as never), 201);
  json('POST', '/sim/faults/webhooks', (req) => simulator.injectWebhookFault(body(req) as never), 201);
  json('DELETE', '/sim/faults', () => simulator.clearFaults());

  json('GET', '/sim/oas-violations', () => simulator.oasViolations());
  json('DELETE', '/sim/oas-violations', () => simulator.clearOasViolations());
  json('POST', '/sim/reset', () => simulator.reset());

  router.on('GET', '/sim/files/:token/:fileName', (req, res) => {
    const redirectTo = simulator.repository.presignedLinks.get(req.params.token)?.redirectTo;
    if (redirectTo) return send(res, 307, undefined, undefined, { location: redirectTo });
    const file = simulator.presignedFile(req.params.token);
    send(res, 200, file.content, file.mimeType, { 'content-disposition': contentDisposition(file.filename) });
  });
}
