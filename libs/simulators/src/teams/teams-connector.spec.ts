import { TeamsSimulator } from './teams-simulator';
import { APP_ID, APP_SECRET, BotEndpointDouble, botToken, connector, TENANT_ID } from './teams-simulator.spec-helpers';
import { TeamsUser } from './teams-simulator.types';

describe('Teams simulator Connector', () => {
  let teams: TeamsSimulator;
  let bot: BotEndpointDouble;
  let token: string;
  let ana: TeamsUser;

  beforeEach(async () => {
    bot = new BotEndpointDouble();
    teams = new TeamsSimulator();
    await teams.start();
    teams.registerBot({ appId: APP_ID, name: 'Help Bot', secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: await bot.start() });
    ana = teams.addUser({ name: 'Ana Lopez' });
    token = await botToken(teams);
  });
  afterEach(async () => {
    await teams.stop();
    await bot.stop();
  });

  const create = (userId = ana.id, extra: Record<string, unknown> = {}) =>
    connector(teams, token, 'POST', 'v3/conversations', { bot: { id: `28:${APP_ID}` }, members: [{ id: userId }], tenantId: TENANT_ID, channelData: { tenant: { id: TENANT_ID } }, ...extra });
  const send = (conversationId: string, activity: Record<string, unknown>) => connector(teams, token, 'POST', `v3/conversations/${encodeURIComponent(conversationId)}/activities`, activity);

  it('answers 401 with a Bot Framework error body without a token, with a foreign token and with a lower-case scheme', async () => {
    const none = await connector(teams, undefined, 'POST', 'v3/conversations', {});
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('Unauthorized');
    expect(none.headers.get('x-correlating-operationid')).toBeTruthy();
    expect((await connector(teams, `${token.slice(0, -4)}AAAA`, 'POST', 'v3/conversations', {})).status).toBe(401);
    const res = await fetch(`${teams.serviceUrl()}v3/conversations`, { method: 'POST', headers: { authorization: `bearer ${token}` }, body: '{}' });
    expect(res.status).toBe(401);
  });

  it('refuses to create a conversation with a user who has not installed the app (403 ForbiddenOperationException)', async () => {
    const res = await create();
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('ForbiddenOperationException');
  });

  it('returns the same 1:1 conversation id for the same user every time, and requires the tenant', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const first = await create();
    const second = await create();
    expect(first.status).toBe(201);
    expect(first.body.id).toBe(conversationId);
    expect(second.body.id).toBe(conversationId);
    expect(conversationId).toMatch(/^a:/);
    const noTenant = await connector(teams, token, 'POST', 'v3/conversations', { bot: { id: `28:${APP_ID}` }, members: [{ id: ana.id }] });
    expect(noTenant.status).toBe(400);
    expect(noTenant.body.error.code).toBe('BadArgument');
  });

  it('posts the first message with the create call and returns its activity id', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const res = await create(ana.id, { activity: { type: 'message', text: 'Your ticket was updated' } });
    expect(res.body).toEqual({ id: conversationId, activityId: expect.stringMatching(/^\d+$/) });
    expect(teams.transcript(conversationId)).toEqual([expect.objectContaining({ op: 'send', activityId: res.body.activityId })]);
  });

  it('sends, replies, updates, deletes and records typing, with numeric-string ids, in order in the transcript', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const sent = await send(conversationId, { type: 'message', text: 'Hello' });
    expect(sent.status).toBe(201);
    expect(sent.body.id).toMatch(/^\d+$/);
    const reply = await connector(teams, token, 'POST', `v3/conversations/${conversationId}/activities/${sent.body.id}`, { type: 'message', text: 'Also this' });
    const typing = await send(conversationId, { type: 'typing' });
    const updated = await connector(teams, token, 'PUT', `v3/conversations/${conversationId}/activities/${sent.body.id}`, { type: 'message', text: 'Hello!' });
    const deleted = await connector(teams, token, 'DELETE', `v3/conversations/${conversationId}/activities/${reply.body.id}`);
    expect([reply.status, typing.status, updated.status, deleted.status]).toEqual([201, 201, 200, 200]);
    expect(teams.transcript(conversationId).map(({ op, activityId }) => [op, activityId])).toEqual([
      ['send', sent.body.id],
      ['reply', reply.body.id],
      ['typing', expect.any(String)],
      ['update', sent.body.id],
      ['delete', reply.body.id],
    ]);
    expect(teams.transcript(conversationId)[1].activity.replyToId).toBe(sent.body.id);
    const again = await connector(teams, token, 'DELETE', `v3/conversations/${conversationId}/activities/${reply.body.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('ActivityNotFoundInConversation');
    expect((await connector(teams, token, 'PUT', `v3/conversations/${conversationId}/activities/12345`, { type: 'message', text: 'x' })).body.error.code).toBe('ActivityNotFoundInConversation');
  });

  it('splits text and an attachment sent together into two messages and returns one id', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const card = { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body: [] } };
    const res = await send(conversationId, { type: 'message', text: 'Approve?', attachments: [card] });
    const entries = teams.transcript(conversationId);
    expect(entries).toHaveLength(2);
    expect(entries[0].activity).toMatchObject({ text: 'Approve?' });
    expect(entries[0].activity.attachments).toBeUndefined();
    expect(entries[1].activity).toMatchObject({ attachments: [card] });
    expect(entries[1].activity.text).toBeUndefined();
    expect(res.body).toEqual({ id: entries[0].activityId });
    expect(entries[1].activityId).not.toBe(entries[0].activityId);
  });

  it('answers 413 MessageSizeTooBig above 100 KB and 404 ConversationNotFound for unknown conversations', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const big = await send(conversationId, { type: 'message', text: 'x'.repeat(101 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('MessageSizeTooBig');
    const unknown = await send('a:unknown', { type: 'message', text: 'hi' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ConversationNotFound');
  });

  it('lists members, pages them and finds one', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const all = await connector(teams, token, 'GET', `v3/conversations/${conversationId}/members`);
    expect(all.body).toEqual([expect.objectContaining({ id: ana.id, name: 'Ana Lopez', aadObjectId: ana.aadObjectId, tenantId: TENANT_ID })]);
    const paged = await connector(teams, token, 'GET', `v3/conversations/${conversationId}/pagedmembers?pageSize=50`);
    expect(paged.body).toEqual({ members: all.body });
    const one = await connector(teams, token, 'GET', `v3/conversations/${conversationId}/members/${encodeURIComponent(ana.id)}`);
    expect(one.body.id).toBe(ana.id);
    expect((await connector(teams, token, 'GET', `v3/conversations/${conversationId}/members/29:nobody`)).status).toBe(404);
  });

  it('answers 403 BotNotInConversationRoster after an uninstall, and ForbiddenOperationException to a new create', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    await teams.uninstall(APP_ID, ana.id);
    const res = await send(conversationId, { type: 'message', text: 'still there?' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('BotNotInConversationRoster');
    expect((await create()).body.error.code).toBe('ForbiddenOperationException');
  });

  it('answers the blocked shapes until unblocked, and BotDisabledByAdmin for a disabled tenant', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    teams.block(APP_ID, ana.id);
    expect((await send(conversationId, { type: 'message', text: 'a' })).body).toEqual({ error: { code: 'ConversationBlockedByUser', message: expect.any(String) } });
    teams.block(APP_ID, ana.id, 'messageWritesBlocked');
    const writes = await send(conversationId, { type: 'message', text: 'b' });
    expect(writes.status).toBe(403);
    expect(writes.body.errorCode).toBe(209);
    expect(JSON.parse(writes.body.message).subCode).toBe('MessageWritesBlocked');
    teams.unblock(APP_ID, ana.id);
    expect((await send(conversationId, { type: 'message', text: 'c' })).status).toBe(201);
    teams.disableByAdmin(APP_ID, TENANT_ID, true);
    expect((await send(conversationId, { type: 'message', text: 'd' })).body.error.code).toBe('BotDisabledByAdmin');
    expect((await create()).body.error.code).toBe('BotDisabledByAdmin');
    teams.disableByAdmin(APP_ID, TENANT_ID, false);
    expect((await send(conversationId, { type: 'message', text: 'e' })).status).toBe(201);
  });

  it.each([
    [403, 'InvalidBotApiHost'],
    [403, 'NotEnoughPermissions'],
    [404, 'ConversationNotFound'],
    [412, 'PreconditionFailed'],
    [429, 'Throttled'],
    [500, 'ServiceError'],
    [502, 'ServiceError'],
  ])('injects %i %s for the next call only', async (status, code) => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    teams.addConnectorFault({ status, code, retryAfterSeconds: status === 429 ? 3 : undefined });
    const faulted = await send(conversationId, { type: 'message', text: 'x' });
    expect(faulted.status).toBe(status);
    expect(faulted.body.error.code).toBe(code);
    if (status === 429) expect(faulted.headers.get('retry-after')).toBe('3');
    expect((await send(conversationId, { type: 'message', text: 'y' })).status).toBe(201);
  });

  it('injects 503 and 504, a custom body, a count, and faults limited to one conversation', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const ben = teams.addUser({ name: 'Ben' });
    const other = (await teams.install(APP_ID, ben.id)).conversationId;
    teams.addConnectorFault({ status: 503, count: 2, conversationId });
    teams.addConnectorFault({ status: 504 });
    teams.addConnectorFault({ status: 403, body: { errorCode: 209, message: 'custom' } });
    expect((await send(other, { type: 'message', text: 'x' })).status).toBe(504);
    expect((await send(conversationId, { type: 'message', text: 'x' })).status).toBe(503);
    expect((await send(conversationId, { type: 'message', text: 'x' })).status).toBe(503);
    expect((await send(conversationId, { type: 'message', text: 'x' })).body).toEqual({ errorCode: 209, message: 'custom' });
    expect((await send(conversationId, { type: 'message', text: 'x' })).status).toBe(201);
    expect(teams.connectorRequests.map((request) => request.status).slice(-5)).toEqual([504, 503, 503, 403, 201]);
  });
});
