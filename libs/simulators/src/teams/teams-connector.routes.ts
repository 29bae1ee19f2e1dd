import { randomUUID } from 'node:crypto';
import { SimulatorClock } from '../clock/simulator-clock';
import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { connectorError, messageWritesBlockedError, TeamsConnectorFaultInjector } from './teams-connector-fault.injector';
import { TeamsConversation, TeamsConversationStore } from './teams-conversation.store';
import { TeamsRateKind, TeamsRateLimiter } from './teams-rate.limiter';
import { TeamsConnectorRequestRecord, TeamsUser } from './teams-simulator.types';
import { TeamsBotCaller, TeamsTokenIssuer } from './teams-token.issuer';

export interface TeamsConnectorDependencies {
  store: TeamsConversationStore;
  tokens: TeamsTokenIssuer;
  limiter: TeamsRateLimiter;
  faults: TeamsConnectorFaultInjector;
  clock: SimulatorClock;
  maxActivityBytes: number;
  requests: TeamsConnectorRequestRecord[];
}

type Activity = Record<string, any>;
interface ConnectorCall {
  req: SimulatorRequest;
  caller: TeamsBotCaller;
  conversation?: TeamsConversation;
}

/**
 * The Bot Connector REST API (v3) under `/{region}/`, which is what the simulator hands out as `serviceUrl`. Every
 * call needs a token from the simulator's token endpoint; every answer carries `X-Correlating-OperationId`.
 */
export function registerTeamsConnectorRoutes(router: SimulatorRouter, deps: TeamsConnectorDependencies): void {
  const { store } = deps;
  const on = (method: string, path: string, kind: TeamsRateKind, action: (call: ConnectorCall) => { status: number; body?: unknown }) =>
    router.on(method, `/:region/v3/conversations${path}`, (req, res) => {
      res.setHeader('x-correlating-operationid', randomUUID().replace(/-/g, '').slice(0, 16));
      const at = deps.clock.now();
      res.once('finish', () => deps.requests.push({ method, path: req.path, status: res.statusCode, at }));
      try {
        const call = authorize(deps, req);
        deps.faults.apply(req.params.conversationId);
        const tenant = call.conversation?.tenantId ?? tenantOf(parseActivity(req)) ?? call.caller.tenant;
        const wait = deps.limiter.take(call.caller.appId, tenant, call.conversation?.id ?? createKey(store, req, call.caller.appId), kind);
        if (wait !== undefined) throw connectorError(429, 'Throttled', undefined, { 'retry-after': String(wait) });
        const { status, body } = action(call);
        send(res, status, body);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        send(res, error.status, error.body, error.contentType, error.headers);
      }
    });

  on('POST', '', 'write', (call) => createConversation(deps, call));
  on('POST', '/:conversationId/activities', 'write', (call) => postActivity(deps, call, 'send'));
  on('POST', '/:conversationId/activities/:activityId', 'write', (call) => postActivity(deps, call, 'reply'));
  on('PUT', '/:conversationId/activities/:activityId', 'write', (call) => updateActivity(deps, call));
  on('DELETE', '/:conversationId/activities/:activityId', 'write', (call) => deleteActivity(deps, call));
  on('GET', '/:conversationId/members', 'read', (call) => ({ status: 200, body: members(store, call.conversation!) }));
  on('GET', '/:conversationId/activities/:activityId/members', 'read', (call) => ({ status: 200, body: members(store, call.conversation!) }));
  on('GET', '/:conversationId/pagedmembers', 'read', (call) => ({ status: 200, body: pagedMembers(members(store, call.conversation!), call.req.query) }));
  on('GET', '/:conversationId/members/:memberId', 'read', (call) => {
    const member = members(store, call.conversation!).find((account) => account.id === call.req.params.memberId);
    if (!member) throw connectorError(404, 'MemberNotFoundInConversation', 'The member was not found in the conversation.');
    return { status: 200, body: member };
  });
}

function authorize(deps: TeamsConnectorDependencies, req: SimulatorRequest): ConnectorCall {
  const checked = deps.tokens.check(req.headers.authorization);
  if ('refused' in checked) throw connectorError(401, 'Unauthorized', `Authorization has been denied for this request. ${checked.refused}`);
  const conversationId = req.params.conversationId;
  if (conversationId === undefined) return { req, caller: checked };
  const conversation = deps.store.conversation(conversationId);
  // Another bot's conversation does not exist for this one: ids are per bot.
  if (!conversation || conversation.appId !== checked.appId) throw connectorError(404, 'ConversationNotFound');
  return { req, caller: checked, conversation };
}

function createConversation(deps: TeamsConnectorDependencies, call: ConnectorCall): { status: number; body: unknown } {
  const { store } = deps;
  const params = parseActivity(call.req);
  const tenantId = tenantOf(params);
  if (!tenantId) throw connectorError(400, 'BadArgument', 'A tenant id is required (tenantId or channelData.tenant.id).');
  const bot = store.bot(call.caller.appId);
  if (params.bot?.id !== undefined && params.bot.id !== `28:${bot.appId}`) throw connectorError(400, 'BadArgument', `bot.id must be 28:${bot.appId}.`);
  if (params.isGroup) throw connectorError(400, 'BadArgument', 'Bots cannot create group chats.');
  const memberIds: unknown[] = Array.isArray(params.members) ? params.members.map((member: Activity) => member?.id) : [];
  if (memberIds.length !== 1 || typeof memberIds[0] !== 'string') throw connectorError(400, 'BadArgument', 'Exactly one member is required for a 1:1 conversation.');
  const user = store.users.get(memberIds[0]);
  if (!user || user.tenantId !== tenantId) throw connectorError(400, 'BadArgument', 'Invalid user identity in provided tenant.');
  if (store.isDisabled(bot.appId, tenantId)) throw connectorError(403, 'BotDisabledByAdmin');
  const membership = store.findMembership(bot.appId, user.id);
  if (!membership?.installed) throw connectorError(403, 'ForbiddenOperationException');
  const conversation = store.conversation(membership.conversationId)!;
  if (!params.activity) return { status: 201, body: { id: conversation.id } };
  checkReachable(deps, conversation);
  const activityId = storeActivity(deps, conversation, params.activity, 'send');
  return { status: 201, body: { id: conversation.id, activityId } };
}

function postActivity(deps: TeamsConnectorDependencies, call: ConnectorCall, op: 'send' | 'reply'): { status: number; body: unknown } {
  const conversation = call.conversation!;
  const activity = parseActivity(call.req);
  checkSize(deps, call.req);
  checkReachable(deps, conversation);
  if (op === 'reply') activity.replyToId = call.req.params.activityId;
  if (activity.type === 'typing') {
    deps.store.record(conversation, 'typing', deps.store.newActivityId(), activity);
    return { status: 201, body: {} };
  }
  return { status: 201, body: { id: storeActivity(deps, conversation, activity, op) } };
}

function updateActivity(deps: TeamsConnectorDependencies, call: ConnectorCall): { status: number; body: unknown } {
  const conversation = call.conversation!;
  const activity = parseActivity(call.req);
  checkSize(deps, call.req);
  checkReachable(deps, conversation);
  const activityId = knownActivity(conversation, call.req.params.activityId);
  deps.store.record(conversation, 'update', activityId, { ...activity, id: activityId });
  return { status: 200, body: { id: activityId } };
}

function deleteActivity(deps: TeamsConnectorDependencies, call: ConnectorCall): { status: number; body: unknown } {
  const conversation = call.conversation!;
  checkReachable(deps, conversation);
  const activityId = knownActivity(conversation, call.req.params.activityId);
  conversation.activities.get(activityId)!.deleted = true;
  deps.store.record(conversation, 'delete', activityId, { type: 'messageDelete', id: activityId });
  return { status: 200, body: undefined };
}

/**
 * Stores a bot message. Text and attachments in one activity become two messages, as Teams splits them; only the
 * text part's id comes back, so the attachment part cannot be updated or deleted by the bot.
 */
function storeActivity(deps: TeamsConnectorDependencies, conversation: TeamsConversation, activity: Activity, op: 'send' | 'reply'): string {
  const hasText = typeof activity.text === 'string' && activity.text.length > 0;
  const hasAttachments = Array.isArray(activity.attachments) && activity.attachments.length > 0;
  const parts = hasText && hasAttachments ? [{ ...activity, attachments: undefined }, { ...activity, text: undefined }] : [activity];
  const ids = parts.map((part) => {
    const id = deps.store.newActivityId();
    conversation.activities.set(id, { deleted: false });
    deps.store.record(conversation, op, id, stripUndefined({ ...part, id }));
    return id;
  });
  return ids[0];
}

function checkReachable(deps: TeamsConnectorDependencies, conversation: TeamsConversation): void {
  const membership = deps.store.membershipOf(conversation);
  if (deps.store.isDisabled(conversation.appId, conversation.tenantId)) throw connectorError(403, 'BotDisabledByAdmin');
  if (!membership.installed) {
    throw membership.everInstalled ? connectorError(403, 'BotNotInConversationRoster') : connectorError(404, 'ConversationNotFound');
  }
  if (membership.blocked === 'code') throw connectorError(403, 'ConversationBlockedByUser');
  if (membership.blocked === 'messageWritesBlocked') throw messageWritesBlockedError();
}

function checkSize(deps: TeamsConnectorDependencies, req: SimulatorRequest): void {
  if (req.body.length > deps.maxActivityBytes) throw connectorError(413, 'MessageSizeTooBig');
}

function knownActivity(conversation: TeamsConversation, activityId: string): string {
  const known = conversation.activities.get(activityId);
  if (!known || known.deleted) throw connectorError(404, 'ActivityNotFoundInConversation', 'Activity not found in conversation.');
  return activityId;
}

/** The members of a personal conversation as the Connector lists them: the user, as a TeamsChannelAccount. */
function members(store: TeamsConversationStore, conversation: TeamsConversation): Activity[] {
  const user: TeamsUser = store.user(conversation.userId);
  const [givenName, ...rest] = user.name.split(' ');
  const upn = `${user.name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@contoso.example`;
  return [{ id: user.id, name: user.name, aadObjectId: user.aadObjectId, objectId: user.aadObjectId, givenName, surname: rest.join(' ') || undefined, email: upn, userPrincipalName: upn, tenantId: user.tenantId, userRole: 'user' }];
}

/** `pageSize` members from the offset in `continuationToken` (opaque to the bot: base64url of the offset). */
export function pagedMembers(all: Activity[], query: URLSearchParams): { members: Activity[]; continuationToken?: string } {
  const pageSize = Math.max(1, Math.min(500, Number(query.get('pageSize') ?? 200) || 200));
  const token = query.get('continuationToken');
  const offset = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw connectorError(400, 'BadArgument', 'Invalid continuation token.');
  const page = all.slice(offset, offset + pageSize);
  const next = offset + pageSize;
  return next < all.length ? { members: page, continuationToken: Buffer.from(String(next)).toString('base64url') } : { members: page };
}

function parseActivity(req: SimulatorRequest): Activity {
  if (req.body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(req.body.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Activity;
  } catch {
    // fall through to the Bot Framework's answer to a malformed body
  }
  throw connectorError(400, 'BadArgument', 'The request body is not a JSON object.');
}

function tenantOf(params: Activity): string | undefined {
  return params.tenantId ?? params.channelData?.tenant?.id ?? params.conversation?.tenantId;
}

/** A create counts against the conversation it returns: the (bot, first member) pair's 1:1 conversation. */
function createKey(store: TeamsConversationStore, req: SimulatorRequest, appId: string): string | undefined {
  if (req.method !== 'POST' || req.params.conversationId !== undefined) return undefined;
  try {
    const member = (JSON.parse(req.body.toString('utf8')) as Activity).members?.[0]?.id;
    if (typeof member !== 'string') return undefined;
    return store.findMembership(appId, member)?.conversationId ?? `create|${appId}|${member}`;
  } catch {
    return undefined;
  }
}

function stripUndefined(value: Activity): Activity {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
