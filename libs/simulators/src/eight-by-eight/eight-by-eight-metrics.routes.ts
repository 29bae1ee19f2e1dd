import { randomBytes } from 'node:crypto';
import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { ConversationRecord, QueueRecord } from './eight-by-eight.model';
import { EightByEightRepository } from './eight-by-eight.repository';

/** The real-time metrics base path (US host; the servers list adds `/eu`, `/au`, `/ca` prefixes for other regions). */
export const METRICS_BASE_PATH = '/analytics/cc/v5/realtime-metrics';
/** The OAuth2 client-credentials token endpoint the metrics API's bearer tokens come from. */
export const TOKEN_PATH = '/oauth/v2/token';

/** What the metrics routes need from the simulator. */
export interface MetricsRouteContext {
  repository: EightByEightRepository;
  clientId: string;
  clientSecret: string;
  tokenTtlSeconds: number;
  /** Issued bearer tokens and when they expire (epoch ms). */
  tokens: Map<string, number>;
}

/** A metric as the API returns it. */
export interface MetricItem {
  key: string;
  value: number;
}

/**
 * The queue metrics the simulator computes. Agent counts come from the control API (set per queue); interaction
 * counts come from the simulator's own conversations. Everything else the API knows (intervals, today) is 0 unless
 * overridden.
 */
export function queueMetrics(queue: QueueRecord, conversations: Iterable<ConversationRecord>, now = Date.now()): Record<string, number> {
  const agents = queue.agents;
  let waiting = 0;
  let handling = 0;
  let longestWaitMs = 0;
  for (const conversation of conversations) {
    if (conversation.phase === 'queued' && conversation.assignment.id === queue.id) {
      waiting++;
      longestWaitMs = Math.max(longestWaitMs, now - (conversation.queuedAt ?? now));
    }
    if (conversation.phase === 'with-agent' && conversation.lastQueueId === queue.id) handling++;
  }
  const loggedIn = agents.available + agents.busy + agents.wrapUp + agents.onBreak + agents.workingOffline;
  return {
    'availableIdle.rt': agents.available,
    'busy.rt': agents.busy,
    'busyExternal.rt': 0,
    'busyOther.rt': 0,
    'eligibl.rt': loggedIn,
    'enabled.rt': loggedIn + agents.loggedOut,
    'handling.rt': agents.busy,
    'interactionsHandling.rt': handling,
    'interactionsLongestWaitInQueue.rt': longestWaitMs,
    'interactionsWaitInQueue.rt': waiting,
    'interactionsWrapUp.rt': 0,
    'offering.rt': 0,
    'onBreak.rt': agents.onBreak,
    'workingOffline.rt': agents.workingOffline,
    'wrapUp.rt': agents.wrapUp,
    ...queue.metricOverrides,
  };
}

function requestedMetrics(query: URLSearchParams): string[] | undefined {
  // `explode: true` in the document (metrics=a&metrics=b); comma lists are accepted too.
  const keys = query.getAll('metrics').flatMap((value) => value.split(',')).map((key) => key.trim()).filter(Boolean);
  return keys.length > 0 ? keys : undefined;
}

function queueResponse(queue: QueueRecord, context: MetricsRouteContext, keys: string[] | undefined): Record<string, unknown> {
  const computed = queueMetrics(queue, context.repository.conversations.values());
  const metrics: MetricItem[] = (keys ?? Object.keys(computed)).map((key) => ({ key, value: computed[key] ?? 0 }));
  return { id: queue.id, name: queue.name, metrics };
}

function invalidToken(): HttpError {
  // Apigee's shape, which 8x8 documents for its OAuth-protected APIs.
  return new HttpError(401, { fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } });
}

function requireBearer(req: SimulatorRequest, context: MetricsRouteContext): void {
  const match = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
  const expiresAt = match ? context.tokens.get(match[1].trim()) : undefined;
  if (expiresAt === undefined || expiresAt <= Date.now()) throw invalidToken();
}

function readBoolean(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}

function readPaging(query: URLSearchParams): { page: number; size: number } {
  const page = Number(query.get('page') ?? 0);
  const size = Number(query.get('size') ?? 100);
  if (!Number.isInteger(page) || page < 0 || !Number.isInteger(size) || size < 1) throw new HttpError(400, { message: 'Invalid page or size' });
  return { page, size };
}

/** `POST /oauth/v2/token` (client credentials) and the two queue endpoints of the real-time metrics API. */
export function registerMetricsRoutes(router: SimulatorRouter, context: MetricsRouteContext): void {
  router.on('POST', TOKEN_PATH, (req, res) => {
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    const [clientId, clientSecret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
    if (clientId !== context.clientId || clientSecret !== context.clientSecret) {
      throw new HttpError(401, { ErrorCode: 'invalid_client', Error: 'ClientId is Invalid' });
    }
    const grantType = new URLSearchParams(req.body.toString('utf8')).get('grant_type');
    if (grantType !== 'client_credentials') {
      throw new HttpError(400, { ErrorCode: 'invalid_request', Error: `Unsupported grant type : ${grantType ?? ''}` });
    }
    const token = randomBytes(21).toString('base64url');
    const issuedAt = Date.now();
    context.tokens.set(token, issuedAt + context.tokenTtlSeconds * 1000);
    // Every field is a string except the product list, as in 8x8's AuthResponse.
    send(res, 200, {
      access_token: token,
      token_type: 'BearerToken',
      expires_in: String(context.tokenTtlSeconds),
      issued_at: String(issuedAt),
      client_id: context.clientId,
      application_name: 'chat-gateway-simulator',
      scope: '',
      status: 'approved',
      refresh_count: '0',
      refresh_token_expires_in: '0',
      api_product_list: ['Contact Center Chat Gateway', 'Contact Center Real-time Metrics'],
      organization_name: '8x8',
    });
  });

  router.on('GET', `${METRICS_BASE_PATH}/queues`, (req, res) => {
    requireBearer(req, context);
    const ids = req.query.getAll('queue-ids').flatMap((value) => value.split(',')).filter(Boolean);
    const queues = [...context.repository.queues.values()].filter((queue) => ids.length === 0 || ids.includes(queue.id));
    const { page, size } = readPaging(req.query);
    const selected = queues.slice(page * size, page * size + size);
    const summary = readBoolean(req.query, 'summary');
    const keys = requestedMetrics(req.query);
    send(res, 200, selected.map((queue) => (summary ? { id: queue.id, name: queue.name } : queueResponse(queue, context, keys))));
  });

  router.on('GET', `${METRICS_BASE_PATH}/queues/:id`, (req, res) => {
    requireBearer(req, context);
    const queue = context.repository.queues.get(req.params.id);
    if (!queue) throw new HttpError(404, { message: `Queue ${req.params.id} not found` });
    send(res, 200, queueResponse(queue, context, requestedMetrics(req.query)));
  });
}
